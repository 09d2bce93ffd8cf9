"""The ``modelshelf`` command line: operate a shelf's registry, runs and blobs from a shell.

One module per noun (``models``, ``versions``, ``alias``, ``artifacts``, ``runs``) plus the
one-verb operations (``ops``: download, verify, repair, gc, copy, demo; ``predict``). Importing this
package is cheap: commands import the library parts they use (and pandas, sklearn, s3fs …
through them) only when they run.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from modelshelf import __version__
from modelshelf.cli import _errors
from modelshelf.cli._context import State, global_options

__all__ = ["cli", "main"]


class _Root(click.Group):
    """The root group: turns every error into one line and an exit code (see ``_errors``)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        state = extra.pop("obj", None) or State()
        root_logger = logging.getLogger()
        handler: logging.Handler | None = None
        if not root_logger.handlers:
            # Without a handler, Python's last-resort handler would print libraries' warnings
            # with their tracebacks (gcsfs retries, say), burying the one-line error.
            handler = _DebugOnlyHandler(state)
            root_logger.addHandler(handler)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                result = super().main(
                    args, prog_name, complete_var, standalone_mode=False, obj=state, **extra
                )
            code = result if isinstance(result, int) else 0
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                # `modelshelf … | head` closed the pipe: stop quietly, as other CLIs do.
                _silence_stdout()
                code = 1
            else:
                code = _errors.report(
                    exc, debug=state.debug, secrets=state.secrets(), keep=state.shown_urls()
                )
        finally:
            if handler is not None:
                root_logger.removeHandler(handler)
        if standalone_mode:
            sys.exit(code)
        return code


class _DebugOnlyHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Library log records (warnings and up) on stderr with ``--debug``; dropped without."""

    def __init__(self, state: State) -> None:
        super().__init__(sys.stderr)
        self.setLevel(logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._state = state

    def format(self, record: logging.LogRecord) -> str:
        from modelshelf.storage import redact

        return redact(super().format(record), self._state.secrets(), keep=self._state.shown_urls())

    def emit(self, record: logging.LogRecord) -> None:
        if self._state.debug:
            super().emit(record)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings as one ``warning:`` line on stderr, not Python's two-line source excerpt."""
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


_EPILOG = (
    "Exit codes: 0 success; 1 verify found problems; 2 an error (one line on stderr, "
    "the traceback with --debug); 3 an unexpected error (a bug)."
)


@click.group(
    cls=_Root,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@global_options
@click.version_option(__version__, "-V", "--version", prog_name="modelshelf")
def cli() -> None:
    """Models on any bucket: the registry, runs and blobs of a shelf, from the shell.

    The shelf is --shelf URL, else $MODELSHELF_URI, else ./shelf. Pass fsspec options (S3
    endpoint, credentials …) with --storage-option KEY=VALUE.
    """


def _register() -> None:
    from modelshelf.cli import alias, artifacts, keys, models, ops, predict, runs, serve, versions

    for command in (
        models.models, versions.versions, alias.alias, artifacts.artifacts, runs.runs,
        ops.download, ops.verify, ops.repair, ops.gc, ops.copy, predict.predict, ops.demo,
        keys.keys, serve.serve,
    ):  # fmt: skip
        cli.add_command(command)
    models.models.add_command(serve.serve)  # `modelshelf models serve`, as MLflow spells it


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """The ``modelshelf`` console script (``[project.scripts] modelshelf = "modelshelf.cli:main"``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="modelshelf")
