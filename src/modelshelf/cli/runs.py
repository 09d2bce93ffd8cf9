"""``modelshelf runs list|show``: runs, their params, metrics and tags."""

from __future__ import annotations

from typing import Any

import click

from modelshelf.cli._context import State, global_options, pass_state
from modelshelf.cli._output import details, emit, table, timestamp

__all__ = ["runs"]


@click.group()
def runs() -> None:
    """Runs: list, show."""


@runs.command("list")
@click.option(
    "--experiment",
    "-e",
    "experiments",
    metavar="NAME",
    multiple=True,
    help="Only runs of this experiment (repeatable; default: all).",
)
@click.option(
    "--filter",
    "filter_string",
    metavar="FILTER",
    help="MLflow filter, e.g. \"metrics.r2 > 0.8 and params.alpha = '0.1'\".",
)
@click.option(
    "--order-by",
    multiple=True,
    metavar="KEY [ASC|DESC]",
    help="e.g. 'metrics.r2 DESC' (repeatable; default: newest first).",
)
@click.option("--max-results", type=click.IntRange(min=1), default=1000, show_default=True)
@global_options
@pass_state
def list_runs(
    state: State,
    experiments: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
) -> None:
    """List runs, newest first."""
    found = state.client().search_runs(
        filter_string=filter_string or "",
        max_results=max_results,
        order_by=list(order_by) or None,
        experiment_names=list(experiments) or None,
    )

    def human() -> str:
        rows = [
            (r.info.run_id, r.info.run_name, r.info.experiment_name, r.info.status,
             timestamp(r.info.start_time), _metrics(r.data.metrics))
            for r in found
        ]  # fmt: skip
        return table(
            ["run id", "name", "experiment", "status", "started (utc)", "metrics"],
            rows,
            empty="no runs",
        )

    emit(state, found, human)


@runs.command("show")
@click.argument("run_id")
@global_options
@pass_state
def show_run(state: State, run_id: str) -> None:
    """Show a run: its info, params, metrics and tags."""
    client = state.client()
    run = client.get_run(run_id)
    models = client.list_logged_models(run_id)
    info = run.info

    def human() -> str:
        return details([
            ("run id", info.run_id),
            ("name", info.run_name),
            ("experiment", f"{info.experiment_name} ({info.experiment_id})"),
            ("status", info.status),
            ("started", timestamp(info.start_time)),
            ("ended", timestamp(info.end_time)),
            ("user", info.user_id),
            ("artifacts", info.artifact_uri),
            ("models", ", ".join(m.model_uri for m in models)),
            ("params", run.data.params),
            ("metrics", run.data.metrics),
            ("tags", {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}),
        ])  # fmt: skip

    data = run.to_dict()
    data["logged_models"] = [m.to_dict() for m in models]
    emit(state, data, human)


def _metrics(metrics: dict[str, Any]) -> str:
    return (
        ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in sorted(metrics.items())
        )
        or "-"
    )
