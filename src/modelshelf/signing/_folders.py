"""Model folders signed in the OpenSSF model-signing format (a Sigstore bundle), key-based.

Thin wrappers over the ``model_signing`` package: it owns the manifest, the DSSE envelope and
the bundle; modelshelf only picks the key and the paths. A signature file inside the folder
is left out of what is signed, as the ``model_signing`` command line does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelshelf.errors import MissingDependencyError, SignatureError

__all__ = ["sign_folder", "verify_folder"]


def _model_signing() -> Any:
    try:
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise MissingDependencyError(
            f"OpenSSF model signing needs the `model-signing` and `pyopenssl` packages ({exc}); "
            "install `modelshelf[signing]`"
        ) from exc
    return model_signing


def _ignored(folder: Path, signature: Path) -> list[Path]:
    try:
        return [signature.resolve().relative_to(folder.resolve())]
    except ValueError:
        return []


def sign_folder(
    folder: str | os.PathLike[str],
    private_key: str | os.PathLike[str],
    signature: str | os.PathLike[str],
) -> Path:
    """Sign every file of ``folder`` with the PEM P-256 ``private_key``; write the bundle.

    Returns:
        The signature file's path.
    """
    ms = _model_signing()
    root, sig = Path(folder), Path(signature)
    hashing = ms.hashing.Config().set_ignored_paths(paths=_ignored(root, sig))
    config = ms.signing.Config().use_elliptic_key_signer(private_key=os.fspath(private_key))
    config.set_hashing_config(hashing).sign(root, sig)
    return sig


def verify_folder(
    folder: str | os.PathLike[str],
    signature: str | os.PathLike[str],
    public_key: str | os.PathLike[str],
) -> None:
    """Check a ``model_signing`` bundle over ``folder`` against ``public_key``.

    Raises:
        SignatureError: the bundle is not by that key, or a file differs, is missing or extra.
    """
    ms = _model_signing()
    root, sig = Path(folder), Path(signature)
    config = ms.verifying.Config().use_elliptic_key_verifier(public_key=os.fspath(public_key))
    ignored = _ignored(root, sig)
    if ignored:
        config.set_hashing_config(ms.hashing.Config().set_ignored_paths(paths=ignored))
    try:
        config.verify(root, sig)
    except Exception as exc:  # noqa: BLE001 - the package raises ValueError and crypto errors
        raise SignatureError(
            f"the model-signing signature {os.fspath(sig)!r} does not hold for the folder "
            f"{os.fspath(root)!r} and the key {os.fspath(public_key)!r}: {exc}"
        ) from exc
