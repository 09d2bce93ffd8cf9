"""Which key a writer signs with and which keys a reader trusts: arguments, else environment.

Keys are loaded once per file (and modification time) per process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelshelf import _settings
from modelshelf.signing._keys import SigningKey, TrustedKeys, load_signing_key

__all__ = ["resolve_signing_key", "resolve_trusted_keys", "trust_fingerprint"]

_LOADED: dict[tuple[str, tuple[int, ...]], Any] = {}


def _stamp(path: str) -> tuple[int, ...]:
    """Modification times of ``path`` and, for a folder, of each file in it: a key file
    rewritten in place (rotating a leaked key) changes no folder's own time."""
    try:
        found = Path(path)
        if not found.is_dir():
            return (found.stat().st_mtime_ns,)
        return (found.stat().st_mtime_ns, *(p.stat().st_mtime_ns for p in sorted(found.iterdir())))
    except OSError:
        return (-1,)


def resolve_signing_key(arg: SigningKey | str | os.PathLike[str] | None) -> SigningKey | None:
    """``arg`` (a key or a PEM path), else ``MODELSHELF_SIGNING_KEY``, else None."""
    if isinstance(arg, SigningKey):
        return arg
    path = os.fspath(arg) if arg is not None else _settings.signing_key_path()
    if path is None:
        return None
    cache_key = ("signing:" + path, _stamp(path))
    key = _LOADED.get(cache_key)
    if key is None:
        key = _LOADED[cache_key] = load_signing_key(path)
    return key


def resolve_trusted_keys(arg: Any = None) -> TrustedKeys:
    """``arg`` (a path, PEM bytes, a key, a folder, or a list of them), else
    ``MODELSHELF_TRUSTED_KEYS``, else the ``trusted_keys`` config folder; may be empty."""
    if isinstance(arg, TrustedKeys):
        return arg
    if arg is not None:
        sources = list(arg) if isinstance(arg, (list, tuple)) else [arg]
        return TrustedKeys.load(sources)
    paths = _settings.trusted_keys_paths()
    if not paths:
        return TrustedKeys()
    cache_key = ("trusted:" + os.pathsep.join(paths), tuple(t for p in paths for t in _stamp(p)))
    keys = _LOADED.get(cache_key)
    if keys is None:
        keys = _LOADED[cache_key] = TrustedKeys.load(list(paths))
    return keys


def trust_fingerprint() -> str:
    """What this environment trusts (keys, pinned policy, ``trust_from``) as one string, ``""``
    when it trusts nothing. Answers remembered under one trust (what a URI resolved to) are
    never reused under another: a process without keys must not vouch for one with keys."""
    trusted = resolve_trusted_keys()
    if not trusted:
        return ""
    policy = _settings.policy_path()
    pinned = f"{policy}@{_stamp(policy)[0]}" if policy else ""
    return f"{trusted.fingerprint()}|{pinned}|{_settings.trust_from() or ''}"
