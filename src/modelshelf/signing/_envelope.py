"""Signatures inside JSON objects: ``signed_by`` (a key id) and ``signature`` fields.

The signature covers the object's storage key and its canonical JSON without the
``signature`` field, so a signed object cannot be edited, nor copied to another key (a run's
model pointer moved to another run, a commit to another seq) without the signature failing.
A signed object has exactly one byte form (canonical JSON, a canonical signature): a commit's
sha256 is part of the hash chain and of recorded heads, so bytes re-encoded without the key
(whitespace, a duplicate key, another encoding of the same signature) are refused too.
"""

from __future__ import annotations

import json
from typing import Any

from modelshelf.errors import SignatureError
from modelshelf.signing._keys import SigningKey, TrustedKeys

__all__ = [
    "SIGNATURE",
    "SIGNED_BY",
    "canonical",
    "is_signed",
    "open_signed",
    "seal",
    "signer_of",
]

SIGNED_BY = "signed_by"
SIGNATURE = "signature"


def canonical(doc: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (lone surrogates kept, as ``json.loads`` reads them)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _message(key: str, doc: dict[str, Any]) -> bytes:
    return b"modelshelf-signed-object-v1\n" + key.encode() + b"\n" + canonical(doc)


def seal(doc: dict[str, Any], key: str, signer: SigningKey) -> bytes:
    """``doc`` with ``signed_by`` and ``signature`` added, as canonical JSON bytes."""
    body = {k: v for k, v in doc.items() if k != SIGNATURE}
    body[SIGNED_BY] = signer.key_id
    body[SIGNATURE] = signer.sign(_message(key, body))
    return canonical(body)


def is_signed(data: bytes) -> bool:
    """Whether the JSON object ``data`` carries a signature field (unverified; cheap)."""
    return b'"' + SIGNATURE.encode() + b'"' in data


def signer_of(data: bytes) -> str | None:
    """The key id a JSON object says signed it (unverified), or None."""
    if not is_signed(data):
        return None
    try:
        found = json.loads(data).get(SIGNED_BY)
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def open_signed(data: bytes, key: str, trusted: TrustedKeys) -> tuple[dict[str, Any], str]:
    """Check the signature of the JSON object stored at ``key``.

    Returns:
        The object without ``signature`` (``signed_by`` kept) and the signer's key id.

    Raises:
        SignatureError: not JSON, unsigned, signed by an untrusted key, or edited since.
    """
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise SignatureError(f"{key!r} is not a signed JSON object; it was replaced or damaged")
    signature, signed_by = doc.pop(SIGNATURE, None), doc.get(SIGNED_BY)
    if not isinstance(signature, str) or not isinstance(signed_by, str):
        raise SignatureError(
            f"{key!r} is not signed, and this reader only trusts signed objects; it was "
            "written without a signing key, or replaced by someone who has none"
        )
    trusted.verify(signed_by, signature, _message(key, doc), repr(key))
    if canonical({**doc, SIGNATURE: signature}) != data:
        raise SignatureError(
            f"{key!r} holds a valid signature but not the bytes its signer wrote (it was "
            "re-encoded, which changes its sha256); restore it from a copy"
        )
    return doc, signed_by
