"""Model versions in and out of the OpenSSF model-signing format.

Why a registered version is not signed this way at every commit: the signed commit already
binds the version's tree digest (the sha256 of a manifest of every file's sha256) to the
writer's key, in O(1); a model-signing bundle says the same thing in another format and costs
a second hashing pass over every byte of the model. So a bundle is made when a version leaves
the shelf (:func:`export_model_version`), and a bundle that came with a model
(:func:`register_signed_model`) is checked, kept as a blob, and named in the version's tags
(which the signed commit covers).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from modelshelf import _settings
from modelshelf.errors import ConfigurationError

__all__ = ["BUNDLE_TAG", "export_model_version", "register_signed_model"]

BUNDLE_TAG = "modelshelf.model_signing.bundle"


def export_model_version(
    model_uri: str,
    dst_path: str | os.PathLike[str],
    *,
    signature: str | os.PathLike[str] | None = None,
    signing_key: str | os.PathLike[str] | None = None,
    shelf: Any = None,
) -> tuple[Path, Path | None]:
    """Download a model to ``dst_path`` and write a model-signing bundle for it.

    The bundle is a fresh one by ``signing_key`` (default ``MODELSHELF_SIGNING_KEY``), else the
    one kept when the version was registered with :func:`register_signed_model`. The
    ``model_signing verify key`` command accepts it with the signer's public key.

    Args:
        signature: where to write the bundle (default: no bundle).

    Returns:
        The folder, and the signature file (None when none was asked for).

    Raises:
        ConfigurationError: a signature was asked for, but there is no key and none was kept.
    """
    from modelshelf._shelf import get_shelf
    from modelshelf.signing._folders import sign_folder
    from modelshelf.uri import download_uri, resolve_uri

    shelf_obj = get_shelf(shelf)
    folder = download_uri(model_uri, dst_path, shelf_obj)
    if signature is None:
        return folder, None
    key = signing_key if signing_key is not None else _settings.signing_key_path()
    if key:
        return folder, sign_folder(folder, key, signature)
    resolved = resolve_uri(model_uri, shelf_obj)
    kept = None
    if resolved.name is not None and resolved.version is not None and not resolved.path:
        from modelshelf.registry import RegistryClient

        mv = RegistryClient(shelf_obj).get_model_version(resolved.name, resolved.version)
        kept = mv.tags.get(BUNDLE_TAG)
    if not kept:
        raise ConfigurationError(
            f"{model_uri!r} has no model-signing signature kept on the shelf; pass a signing "
            "key (or set MODELSHELF_SIGNING_KEY) to sign the exported folder"
        )
    Path(signature).write_bytes(shelf_obj.blobs.get(kept))
    return folder, Path(signature)


def register_signed_model(
    name: str,
    folder: str | os.PathLike[str],
    *,
    signature: str | os.PathLike[str],
    public_key: str | os.PathLike[str],
    client: Any = None,
    tags: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Register a folder signed with ``model_signing``: check the bundle, then keep it.

    The signature file may lie inside ``folder``; it is not registered with the model, nor
    are the top-level git paths (``.git``, ``.github``, ``.gitignore``, ``.gitattributes``)
    that ``model_signing`` does not sign.

    Returns:
        The new ``ModelVersion``; its ``modelshelf.model_signing.bundle`` tag names the bundle.

    Raises:
        SignatureError: the bundle does not hold for the folder and key (nothing registered).
        ModelNotFoundError: no registered model ``name``.
    """
    from modelshelf.client import Client
    from modelshelf.signing._folders import verify_folder

    root, sig = Path(folder), Path(signature)
    verify_folder(root, sig, public_key)
    client = client if client is not None else Client()
    bundle = client.shelf.blobs.put_bytes(sig.read_bytes())
    all_tags = {**(tags or {}), BUNDLE_TAG: str(bundle)}
    # Register exactly what the bundle covers: not the signature file, nor the top-level git
    # paths model_signing leaves out of what it signs.
    unsigned = {root.resolve() / p for p in UNSIGNED_PATHS}
    if sig.resolve().is_relative_to(root.resolve()):
        unsigned.add(sig.resolve())
    if not any(p.exists() for p in unsigned):
        return client.create_model_version(name, str(root), tags=all_tags, **kwargs)
    with tempfile.TemporaryDirectory(prefix="modelshelf-signed-") as tmp:
        copy = Path(tmp) / "model"
        shutil.copytree(root, copy, ignore=_skip(unsigned), copy_function=_link_or_copy)
        return client.create_model_version(
            name, str(root), tags=all_tags, local_model_path=str(copy), **kwargs
        )


#: What ``model_signing`` leaves out of a folder's signature by default.
UNSIGNED_PATHS = (".git", ".gitattributes", ".github", ".gitignore")


def _skip(unsigned: set[Path]) -> Any:
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if (Path(folder) / n).resolve() in unsigned]

    return ignore


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
