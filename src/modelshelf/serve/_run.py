"""Run the scoring app under uvicorn: workers, timeouts, graceful shutdown."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from modelshelf.serve._app import CONFIG_ENV, ServeConfig, create_app
from modelshelf.serve._follower import ModelFollower, log_to_stderr

__all__ = ["serve"]

_log = logging.getLogger("modelshelf.serve")


def serve(
    config: ServeConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    graceful_timeout: float = 30.0,
    keep_alive: float = 5.0,
) -> None:
    """Serve ``config.model_uri`` until SIGINT / SIGTERM.

    On a signal the server stops accepting connections, lets requests in flight finish (up
    to ``graceful_timeout`` seconds) and stops the alias follower. With ``workers > 1`` each
    worker process loads the model and follows the alias on its own.

    Raises:
        NotFoundError, InvalidURIError, ...: the model cannot be loaded (checked before the
            port is opened, so a bad URI fails at once).
    """
    import uvicorn

    log_to_stderr()
    os.environ[CONFIG_ENV] = config.to_json()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "timeout_graceful_shutdown": int(graceful_timeout),
        "timeout_keep_alive": int(keep_alive),
        "log_level": "info",
        "access_log": False,
    }
    if workers > 1:
        # Check the URI here first: a typo should fail once, not in every worker.
        from modelshelf.uri import parse_uri, resolve_uri

        if parse_uri(config.model_uri).scheme != "local":
            resolve_uri(config.model_uri)
        _log.info(
            "starting %d workers for %s on http://%s:%d", workers, config.model_uri, host, port
        )
        with _bind_errors(host, port):
            uvicorn.run(
                "modelshelf.serve._app:app_from_environment",
                factory=True,
                workers=workers,
                **options,
            )
        return
    follower = ModelFollower(
        config.model_uri, poll_interval=config.poll_interval, model_config=config.model_config
    )
    served = follower.load()
    _log.info(
        "serving %s (version %s, %s) on http://%s:%d",
        config.model_uri, served.version, served.digest, host, port,
    )  # fmt: skip
    app = create_app(follower, config)
    with _bind_errors(host, port):
        uvicorn.Server(uvicorn.Config(app, **options)).run()


@contextlib.contextmanager
def _bind_errors(host: str, port: int) -> Iterator[None]:
    """uvicorn logs a failed bind and calls ``sys.exit(1)``: make that a one-line error."""
    try:
        yield
    except SystemExit as exc:
        if exc.code in (0, None):
            return
        from modelshelf.errors import ConfigurationError

        raise ConfigurationError(
            f"could not serve on http://{host}:{port} (the port is in use or not allowed); "
            "pick another --port or --host"
        ) from None
