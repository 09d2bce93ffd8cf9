"""The MODELSHELF_* environment variables, read in one place.

Functions, not constants: tests and long-lived processes may change the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SHELF = "./shelf"


def shelf_uri() -> str:
    """``MODELSHELF_URI``, else ``./shelf``."""
    return os.environ.get("MODELSHELF_URI") or DEFAULT_SHELF


def cache_dir() -> Path:
    """``MODELSHELF_CACHE_DIR``, else ``$XDG_CACHE_HOME/modelshelf``, else ``~/.cache/modelshelf``."""
    explicit = os.environ.get("MODELSHELF_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "modelshelf"


def progress_enabled() -> bool:
    """``MODELSHELF_PROGRESS=0`` silences progress bars (they also hide when not on a terminal)."""
    return os.environ.get("MODELSHELF_PROGRESS", "1").strip().lower() not in {
        "0",
        "false",
        "no",
        "off",
    }


def concurrency() -> int:
    """``MODELSHELF_CONCURRENCY``: how many transfers run at once (default 32)."""
    try:
        return max(1, int(os.environ.get("MODELSHELF_CONCURRENCY", "32")))
    except ValueError:
        return 32


def actor() -> str | None:
    """``MODELSHELF_ACTOR`` overrides the ``user@host`` recorded in registry commits and runs."""
    return os.environ.get("MODELSHELF_ACTOR") or None


def signing_key_path() -> str | None:
    """``MODELSHELF_SIGNING_KEY``: a PEM P-256 private key file; writers sign with it."""
    return os.environ.get("MODELSHELF_SIGNING_KEY") or None


def trusted_keys_paths() -> list[str]:
    """``MODELSHELF_TRUSTED_KEYS``: public key files or folders (``os.pathsep``-separated),
    else the folder ``$XDG_CONFIG_HOME/modelshelf/trusted_keys`` if it exists."""
    explicit = os.environ.get("MODELSHELF_TRUSTED_KEYS")
    if explicit:
        return [p for p in explicit.split(os.pathsep) if p]
    xdg = os.environ.get("XDG_CONFIG_HOME")
    folder = (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "modelshelf"
    folder = folder / "trusted_keys"
    return [str(folder)] if folder.is_dir() else []


def trust_from() -> str | None:
    """``MODELSHELF_TRUST_FROM``: ``SEQ:SHA256`` of the last commit accepted unsigned."""
    return os.environ.get("MODELSHELF_TRUST_FROM") or None


def policy_path() -> str | None:
    """``MODELSHELF_POLICY``: a signed write-policy file that readers and writers pin."""
    return os.environ.get("MODELSHELF_POLICY") or None


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def gc_window() -> float:
    """``MODELSHELF_GC_WINDOW``: seconds a writer may rely on a blob it saw (default 3600).

    A writer re-checks the blobs it relies on when more than half of this has passed since
    it last saw them; gc deletes a quarantined blob only this long (plus the clock skew)
    after quarantining it. Every writer and gc of a shelf must use the same value.
    """
    return _seconds("MODELSHELF_GC_WINDOW", 3600.0)


def gc_clock_skew() -> float:
    """``MODELSHELF_GC_CLOCK_SKEW``: the most two machines' clocks differ, seconds (default 300)."""
    return _seconds("MODELSHELF_GC_CLOCK_SKEW", 300.0)


def gc_grace() -> float | None:
    """``MODELSHELF_GC_GRACE``: default grace period of gc in seconds (unset: 24 h)."""
    raw = os.environ.get("MODELSHELF_GC_GRACE")
    if raw is None or raw == "":
        return None
    return _seconds("MODELSHELF_GC_GRACE", 86400.0)
