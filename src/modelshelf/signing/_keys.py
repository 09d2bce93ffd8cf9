"""ECDSA P-256 signing keys: generate, load, sign, verify, and a stable key id.

P-256 rather than Ed25519 because the OpenSSF ``model_signing`` tool's key-based signing
only accepts elliptic-curve keys with a named curve (an Ed25519 key fails there), and one
key should be able to sign both registry history and model folders.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelshelf.errors import ConfigurationError, SignatureError

__all__ = [
    "SigningKey",
    "TrustedKeys",
    "generate_key_pair",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
]


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError as exc:  # pragma: no cover - cryptography comes with the signing extra
        from modelshelf.errors import MissingDependencyError

        raise MissingDependencyError(
            "signing needs the `cryptography` package; install `modelshelf[signing]`"
        ) from exc
    return hashes, serialization, ec


# ECDSA signs with (r, s) and (r, n - s) alike; keeping only the low s (and strict DER and
# base64) gives each signed object one byte form, so its sha256 cannot be changed without
# the key (see _envelope).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _decode_dss(der: bytes) -> tuple[int, int]:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    return int(r), int(s)


def _encode_low_s(r: int, s: int) -> str:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return base64.b64encode(encode_dss_signature(r, s)).decode()


def _canonical_signature(signature: str) -> bytes | None:
    """The DER bytes of ``signature`` if it is in its one canonical form, else None."""
    try:
        der = base64.b64decode(signature, validate=True)
        r, s = _decode_dss(der)
    except (ValueError, TypeError):
        return None
    if s > _P256_ORDER // 2 or _encode_low_s(r, s) != signature:
        return None
    return der


def key_id_of(public_key: Any) -> str:
    """``sha256`` of the key's DER SubjectPublicKeyInfo, 32 hex characters."""
    _, serialization, _ = _crypto()
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:32]


def _check_curve(key: Any, where: str) -> None:
    _, _, ec = _crypto()
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) or not (
        isinstance(key.curve, ec.SECP256R1)
    ):
        raise ConfigurationError(
            f"{where} is not an ECDSA P-256 key; modelshelf signs with P-256 (the OpenSSF "
            "model_signing tool rejects Ed25519). Make one with `modelshelf keys generate`"
        )


@dataclass(frozen=True)
class SigningKey:
    """A private key that signs commits, checkpoints, run records and model folders."""

    private_key: Any = field(repr=False)
    key_id: str
    path: str | None = None

    def sign(self, data: bytes) -> str:
        """Base64 DER ECDSA-SHA256 signature of ``data``, in low-S form."""
        hashes, _, ec = _crypto()
        r, s = _decode_dss(self.private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return _encode_low_s(r, min(s, _P256_ORDER - s))

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    def public_pem(self) -> bytes:
        _, serialization, _ = _crypto()
        return bytes(
            self.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load an unencrypted PEM ECDSA P-256 private key.

    Raises:
        ConfigurationError: the file is missing, not a key, or not P-256.
    """
    _, serialization, _ = _crypto()
    where = os.fspath(path)
    try:
        key = serialization.load_pem_private_key(Path(where).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot load the signing key {where!r} ({exc}); pass an unencrypted PEM P-256 "
            "private key (`modelshelf keys generate` makes one)"
        ) from exc
    _check_curve(key, where)
    return SigningKey(key, key_id_of(key.public_key()), where)


def load_public_key(source: str | os.PathLike[str] | bytes) -> Any:
    """A P-256 public key from a PEM file path or PEM bytes. Raises ConfigurationError."""
    _, serialization, _ = _crypto()
    where = "public key bytes" if isinstance(source, bytes) else os.fspath(source)
    try:
        pem = source if isinstance(source, bytes) else Path(where).read_bytes()
        key = serialization.load_pem_public_key(pem)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot load the trusted public key {where!r} ({exc}); pass a PEM public key"
        ) from exc
    _check_curve(key, where)
    return key


def generate_key_pair(private_path: str | os.PathLike[str]) -> tuple[Path, Path, str]:
    """Write a new P-256 key: ``private_path`` (PEM, mode 0600) and ``<stem>.pub`` beside it.

    Returns:
        ``(private path, public path, key id)``.

    Raises:
        ConfigurationError: ``private_path`` already exists (keys are never overwritten).
    """
    _, serialization, ec = _crypto()
    priv = Path(private_path)
    pub = priv.with_suffix(".pub")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(
            f"{priv} exists; pick another path (keys are never overwritten)"
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub, key_id_of(key.public_key())


class TrustedKeys:
    """Public keys a reader trusts, by key id, each with a local name (its file's stem)."""

    def __init__(self, keys: dict[str, tuple[str, Any]] | None = None) -> None:
        self._keys: dict[str, tuple[str, Any]] = dict(keys or {})

    @classmethod
    def load(cls, sources: list[Any]) -> TrustedKeys:
        """From PEM file paths, folders of ``*.pub``/``*.pem`` files, PEM bytes or key objects."""
        keys: dict[str, tuple[str, Any]] = {}
        for source in sources:
            if isinstance(source, TrustedKeys):
                keys.update(source._keys)
                continue
            if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
                files = sorted(p for p in Path(source).iterdir() if p.suffix in (".pub", ".pem"))
                if not files:  # fail closed: trusting nothing would turn every check off
                    raise ConfigurationError(
                        f"the trusted keys folder {os.fspath(source)!r} holds no public keys "
                        "(*.pub or *.pem files); put the keys you trust there, or name no "
                        "folder to trust nothing"
                    )
                for p in files:
                    key = load_public_key(p)
                    keys[key_id_of(key)] = (p.stem, key)
                continue
            if isinstance(source, (str, os.PathLike, bytes)):
                key = load_public_key(source)
                name = "key" if isinstance(source, bytes) else Path(source).stem
            else:
                _check_curve(source, repr(source))
                key, name = source, "key"
            keys[key_id_of(key)] = (name, key)
        return cls(keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def ids(self) -> list[str]:
        return sorted(self._keys)

    def name(self, key_id: str) -> str | None:
        found = self._keys.get(key_id)
        return found[0] if found else None

    def fingerprint(self) -> str:
        return ",".join(self.ids())

    def verify(self, key_id: str, signature: str, data: bytes, what: str) -> None:
        """Raise SignatureError unless ``signature`` by trusted ``key_id`` holds over ``data``."""
        found = self._keys.get(key_id)
        if found is None:
            raise SignatureError(
                f"{what} is signed by key {key_id}, which this reader does not trust; add its "
                "public key to the trusted keys if it is yours, else the object was forged"
            )
        hashes, _, ec = _crypto()
        from cryptography.exceptions import InvalidSignature

        der = _canonical_signature(signature)
        try:
            if der is None:
                raise ValueError("not a canonical (strict base64, DER, low-S) signature")
            found[1].verify(der, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise SignatureError(
                f"{what} has a signature by key {key_id} ({found[0]}) that does not match its "
                "bytes: it was edited after it was signed; restore it from a copy"
            ) from exc
