"""``modelshelf artifacts list|get``: the write-once files of a run."""

from __future__ import annotations

import click

from modelshelf.cli._context import State, global_options, pass_state
from modelshelf.cli._output import emit, human_bytes, table

__all__ = ["artifacts"]


@click.group()
def artifacts() -> None:
    """Run artifacts: list, get."""


@artifacts.command("list")
@click.argument("run_id")
@click.argument("path", required=False)
@global_options
@pass_state
def list_artifacts(state: State, run_id: str, path: str | None) -> None:
    """List the artifacts directly under PATH (the run's root by default)."""
    found = state.client().list_artifacts(run_id, path)
    rows = [
        (f.path + ("/" if f.is_dir else ""), "-" if f.is_dir else human_bytes(f.file_size))
        for f in found
    ]
    emit(state, found, lambda: table(["path", "size"], rows, empty="no artifacts"))


@artifacts.command("get")
@click.argument("run_id")
@click.argument("path")
@click.argument("dest", type=click.Path(file_okay=False, writable=True))
@global_options
@pass_state
def get_artifact(state: State, run_id: str, path: str, dest: str) -> None:
    """Download the artifact PATH (a file or folder) of a run to DEST/PATH.

    Every byte is checked against its digest on the way.
    """
    local = state.client().download_artifacts(run_id, path, dst_path=dest)
    emit(state, {"run_id": run_id, "path": path, "local_path": local}, local)
