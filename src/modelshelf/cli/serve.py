"""``modelshelf serve -m URI``: a scoring server speaking MLflow's protocol, following aliases."""

from __future__ import annotations

import json
from typing import Any

import click

from modelshelf.cli._context import State, global_options, pass_state

__all__ = ["serve"]


def _size(text: str) -> int:
    units = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20,
             "G": 1 << 30, "GB": 1 << 30}  # fmt: skip
    raw = text.strip().upper().replace("IB", "B")
    number = raw.rstrip("KMGB")
    unit = raw[len(number) :]
    try:
        value = int(float(number) * units[unit])
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r} is not a size such as 32MB or 1048576") from None
    if value <= 0:
        raise click.BadParameter("the size must be positive")
    return value


@click.command()
@click.option(
    "--model-uri",
    "-m",
    "model_uri",
    required=True,
    metavar="URI",
    help="models:/NAME@ALIAS (followed), models:/NAME/VERSION, a folder …",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (0.0.0.0 exposes the model to the network).",
)
@click.option("--port", "-p", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Worker processes; each loads the model and follows the alias.",
)
@click.option(
    "--poll-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds between two looks at the registry for an alias move.",
)
@click.option(
    "--max-body-size",
    default="32MB",
    show_default=True,
    metavar="SIZE",
    help="Larger request bodies are refused with 413.",
)
@click.option(
    "--timeout",
    "-t",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.001),
    help="Seconds a request may take before it is answered 504.",
)
@click.option(
    "--graceful-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="On SIGTERM, seconds to let requests in flight finish.",
)
@click.option(
    "--model-config",
    "model_config",
    metavar="JSON",
    help="Model config overrides, as JSON (keys the model's config already has).",
)
@global_options
@pass_state
def serve(
    state: State,
    model_uri: str,
    host: str,
    port: int,
    workers: int,
    poll_interval: float,
    max_body_size: str,
    timeout: float,
    graceful_timeout: float,
    model_config: str | None,
) -> None:  # fmt: skip
    """Serve a model over HTTP with MLflow's scoring protocol (needs modelshelf[serve]).

    Endpoints: GET /ping, /health (JSON status: ok, or degraded when a new version failed
    to load), /version (the model version and tree digest answering); POST /invocations
    (application/json: dataframe_split, dataframe_records, instances or inputs, plus params;
    text/csv; application/vnd.apache.parquet). Started on an alias, the server polls the
    registry and swaps in the version the alias moves to, once it has loaded and predicted on
    its input example; requests in flight finish on the old one.

    Loading a model runs its code (unpickling): serve only models you trust.
    """
    from modelshelf.errors import InvalidInputError
    from modelshelf.serve import ServeConfig
    from modelshelf.serve import serve as run

    config_value: dict[str, Any] | None = None
    if model_config is not None:
        try:
            config_value = json.loads(model_config)
        except ValueError as exc:
            raise InvalidInputError(f"--model-config is not valid JSON: {exc}") from exc
        if not isinstance(config_value, dict):
            raise InvalidInputError("--model-config must be a JSON object")
    shelf = state.shelf()  # URIs resolve against it; workers open it from the config
    config = ServeConfig(
        model_uri=model_uri,
        shelf=shelf.url,
        storage_options=dict(shelf.storage_options) or None,
        poll_interval=poll_interval,
        max_body_bytes=_size(max_body_size),
        timeout=timeout,
        model_config=config_value,
    )
    run(config, host=host, port=port, workers=workers, graceful_timeout=graceful_timeout)
