"""Authenticity for a shelf: signing keys, signed objects, trusted keys, head memory, policy.

Hashes prove the bytes; signatures prove who wrote them. A writer with a signing key signs
every registry commit, checkpoint and run record; a reader given trusted public keys refuses
anything unsigned or badly signed, and remembers the highest head it verified so a rollback
or a fork of history is noticed. See docs/security.md.
"""

from __future__ import annotations

from modelshelf.signing._config import (
    resolve_signing_key,
    resolve_trusted_keys,
    trust_fingerprint,
)
from modelshelf.signing._envelope import is_signed, open_signed, seal, signer_of
from modelshelf.signing._heads import HeadMemory
from modelshelf.signing._keys import (
    SigningKey,
    TrustedKeys,
    generate_key_pair,
    key_id_of,
    load_public_key,
    load_signing_key,
)
from modelshelf.signing._policy import Policy, sign_policy

__all__ = [
    "HeadMemory",
    "Policy",
    "SigningKey",
    "TrustedKeys",
    "generate_key_pair",
    "is_signed",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
    "open_signed",
    "resolve_signing_key",
    "resolve_trusted_keys",
    "seal",
    "sign_policy",
    "signer_of",
    "trust_fingerprint",
]
