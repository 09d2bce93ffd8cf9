"""The model a server answers with, and the alias follower that swaps it.

A request takes the current :class:`Served` once and keeps it to the end, so swapping the
attribute never changes the model under a request in flight; the old model is freed when its
last request finishes. A new version is loaded and checked beside the old one (which keeps
answering) and only then swapped in.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelFollower", "Served", "log_to_stderr"]

_log = logging.getLogger("modelshelf.serve")


@dataclass(frozen=True)
class Served:
    """A loaded model and what it is: the version and tree digest that answer requests."""

    model: Any = field(repr=False)
    model_uri: str
    digest: str | None
    name: str | None = None
    version: int | None = None
    loaded_at: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "model_uri": self.model_uri,
            "model_name": self.name,
            "model_version": self.version,
            "digest": self.digest,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
        }


class ModelFollower:
    """Serve ``model_uri``; when it is an alias (or ``latest`` / a stage), follow it.

    Args:
        model_uri: any model URI :func:`modelshelf.pyfunc.load_model` accepts.
        poll_interval: seconds between two looks at the registry tail (one small read when
            nothing changed); only URIs that can move are polled.
        model_config: passed to the loader, as ``load_model(model_config=…)``.
    """

    def __init__(
        self,
        model_uri: str,
        *,
        poll_interval: float = 10.0,
        model_config: dict[str, Any] | None = None,
    ) -> None:
        from modelshelf.uri import parse_uri

        parsed = parse_uri(model_uri)
        self.model_uri = model_uri
        self.poll_interval = float(poll_interval)
        self.follows = parsed.scheme == "models" and parsed.selector in ("alias", "latest", "stage")
        self._config = model_config
        self._current: Served | None = None
        self._failed: dict[str, Any] | None = None
        self._pinned: str | None = None  # the immutable URI of what the last look resolved
        self._lock = threading.Lock()  # one check at a time (the poller, or a caller)

    # ------------------------------------------------------------------------------ state
    @property
    def current(self) -> Served:
        """The model answering now (raises before :meth:`load`)."""
        served = self._current
        if served is None:
            raise RuntimeError("no model loaded yet; call load() first")
        return served

    def status(self) -> dict[str, Any]:
        """What /health reports: ``ok``, or ``degraded`` with the version that failed to load."""
        out: dict[str, Any] = {"status": "ok" if self._failed is None else "degraded"}
        out.update(self.current.describe())
        out["follows"] = self.model_uri if self.follows else None
        if self._failed is not None:
            out["failed"] = dict(self._failed)
        return out

    # ------------------------------------------------------------------------------ loading
    def load(self) -> Served:
        """Load the model the URI names now (the first load raises what loading raises)."""
        with self._lock:
            served = self._load_resolved(*self._resolve())
            self._current = served
            return served

    def check(self) -> bool:
        """Look at the registry once; load, check and swap in a new version if it moved.

        Returns:
            True when a new version now answers. A version that fails to load or to predict
            on its own input example is left unserved (logged, and reported by
            :meth:`status`) until the alias moves again.
        """
        if not self.follows:
            return False
        with self._lock:
            try:
                digest, name, version = self._resolve()
            except Exception as exc:  # noqa: BLE001 - a registry hiccup must not stop serving
                _log.warning(
                    "could not look up %s (still serving the loaded model): %s", self.model_uri, exc
                )
                return False
            current = self.current
            if digest == current.digest:
                self._failed = None  # the alias is back on the version that answers
                return False
            if self._failed is not None and self._failed.get("digest") == digest:
                return False  # already tried; wait for the alias to move again
            _log.info(
                "%s moved to version %s (%s); loading it beside version %s",
                self.model_uri, version, digest, current.version,
            )  # fmt: skip
            try:
                served = self._load_resolved(digest, name, version)
            except Exception as exc:  # noqa: BLE001 - any failure leaves the old model serving
                self._failed = {
                    "model_version": version,
                    "digest": digest,
                    "error": f"{type(exc).__name__}: {exc}",
                }
                _log.error(
                    "version %s of %s (%s) failed to load or check, still serving version %s "
                    "(%s): %s: %s",
                    version, self.model_uri, digest, current.version, current.digest,
                    type(exc).__name__, exc,
                )  # fmt: skip
                return False
            self._current = served
            self._failed = None
            _log.info("now serving version %s (%s) for %s", version, digest, self.model_uri)
            return True

    def _resolve(self) -> tuple[str | None, str | None, int | None]:
        from modelshelf.uri import parse_uri, resolve_uri

        if parse_uri(self.model_uri).scheme == "local":
            return None, None, None
        resolved = resolve_uri(self.model_uri)
        digest = str(resolved.digest) if resolved.digest is not None else None
        self._pinned = digest
        if resolved.path and resolved.root is not None:  # a sub-folder: named inside its root
            self._pinned = f"{resolved.root}/{resolved.path}"
        return digest, resolved.name, resolved.version

    def _load_resolved(self, digest: str | None, name: str | None, version: int | None) -> Served:
        from modelshelf.pyfunc import load_model, load_model_from_dir
        from modelshelf.uri import local_model_dir

        if digest is None or not self.follows:
            model = load_model(self.model_uri, self._config)
        else:
            # Load the bytes just resolved, not the alias again: it may have moved meanwhile.
            model = load_model_from_dir(local_model_dir(self._pinned or digest), self._config)
            _smoke_test(model)
        return Served(model, self.model_uri, digest, name, version, time.time())

    # ------------------------------------------------------------------------------ polling
    def run(self, stop: threading.Event) -> None:
        """Poll every ``poll_interval`` seconds until ``stop`` is set (for a thread)."""
        while not stop.wait(self.poll_interval):
            self.check()


def _smoke_test(model: Any) -> None:
    """A new version must predict on its own input example before it may answer anyone."""
    example = model.input_example
    if example is None:
        return
    params = None
    if model.model_path is not None:
        try:
            params = model.metadata.load_input_example_params(model.model_path)
        except Exception:  # noqa: BLE001 - the example's params are optional
            params = None
    model.predict(example, params=params)


def log_to_stderr() -> None:
    """Send the server's own log (loads, alias moves, failures) to stderr, once per process."""
    logger = logging.getLogger("modelshelf.serve")
    if not any(getattr(h, "_modelshelf_serve", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._modelshelf_serve = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
