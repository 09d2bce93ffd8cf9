"""tqdm progress for long transfers: shown on a terminal, silent otherwise or with
``MODELSHELF_PROGRESS=0``."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from modelshelf import _settings

__all__ = ["Progress"]

_MIN_BYTES = 64 << 20  # shorter transfers finish before a bar would help


class Progress:
    """A byte counter that draws a tqdm bar only when it is worth it."""

    def __init__(self, *, total: int, desc: str, unit: str = "B") -> None:
        self._bar: Any = None
        if total >= _MIN_BYTES and _settings.progress_enabled() and sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
