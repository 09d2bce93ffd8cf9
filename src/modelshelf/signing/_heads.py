"""The highest verified head of each shelf, remembered on this machine (rollback detection).

One small JSON file per shelf, mode 0600, under the local cache folder (never on the shelf):
``{"seq": N, "head": "<sha256 hex of commit N>"}``. It only moves forward.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

__all__ = ["HeadMemory"]


class HeadMemory:
    """Read and advance the remembered head stored at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self) -> tuple[int, str] | None:
        try:
            body = json.loads(self.path.read_bytes())
            return int(body["seq"]), str(body["head"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, seq: int, head: str) -> None:
        """Remember ``(seq, head)`` unless a higher seq is already remembered."""
        known = self.get()
        if known is not None and known[0] >= seq:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"head": head, "seq": seq}, handle)
            os.replace(tmp, self.path)
        except OSError:
            pass  # an unwritable cache weakens rollback detection; it must not fail reads
