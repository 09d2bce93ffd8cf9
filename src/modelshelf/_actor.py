"""Who is acting: the one answer for run owners, version owners and registry commits.

One identity, two spellings, both kept from what is already stored:

- runs record the login name (``user_id`` and the ``mlflow.user`` tag), as MLflow does, so
  MLflow filters such as ``attributes.user_id = 'alice'`` keep working;
- registry commits and model versions record ``user@host``, so the audit log tells apart
  two people (or CI machines) with the same login.

``MODELSHELF_ACTOR`` overrides both with its value, verbatim (a service account, say).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass

from modelshelf import _settings

__all__ = ["Actor", "whoami"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting user; ``str()`` gives the ``user@host`` form the registry records."""

    user: str
    host: str | None = None

    def __str__(self) -> str:
        return f"{self.user}@{self.host}" if self.host else self.user


def whoami() -> Actor:
    """``MODELSHELF_ACTOR`` if set (verbatim, no host), else the login name on this host."""
    explicit = _settings.actor()
    if explicit:
        return Actor(explicit)
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers): fall back to the uid
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Actor(user, socket.gethostname())
