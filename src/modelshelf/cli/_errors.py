"""Known exceptions -> one line on stderr and an exit code; a traceback only with ``--debug``.

Exit codes:
    0: success.
    1: the command ran and found problems (``verify``).
    2: a known error: bad usage, or a modelshelf error (not found, invalid input, storage …).
    3: an unexpected error (a bug): the traceback is always printed.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable

import click

from modelshelf import errors
from modelshelf.storage import redact

__all__ = ["EXIT_BUG", "EXIT_ERROR", "EXIT_PROBLEMS", "exit_code", "one_line", "report"]

EXIT_PROBLEMS = 1
EXIT_ERROR = 2
EXIT_BUG = 3

# What to do next, by exception class (first match wins); added only when the message itself
# does not already say it.
_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.ModelNotFoundError, "list the models with `modelshelf models list`"),
    (errors.VersionNotFoundError, "list the versions with `modelshelf versions list NAME`"),
    (errors.AliasNotFoundError, "see the aliases with `modelshelf models show NAME`"),
    (errors.RunNotFoundError, "list the runs with `modelshelf runs list`"),
    (errors.ArtifactNotFoundError, "list them with `modelshelf artifacts list RUN_ID`"),
    (errors.CommitConflictError, "other writers kept winning the commit race; try again"),
    (PermissionError, "check the credentials (--storage-option) or the file permissions"),
    (errors.StorageError, "rerun with --debug to see the backend's error"),
)


def _known(exc: BaseException) -> bool:
    return isinstance(exc, errors.ModelshelfError | OSError | click.ClickException | click.Abort)


def exit_code(exc: BaseException) -> int:
    """The process exit code for ``exc`` (see the module docstring)."""
    return EXIT_ERROR if _known(exc) else EXIT_BUG


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: its message (or class name), plus a hint on what to do next."""
    if isinstance(exc, click.UsageError):
        message = exc.format_message()
        if exc.ctx is not None:
            message += f" (see `{exc.ctx.command_path} --help`)"
    elif isinstance(exc, click.ClickException):
        message = exc.format_message()
    elif isinstance(exc, click.Abort):
        message = "aborted"
    else:
        message = str(exc).strip() or type(exc).__name__
        if not _known(exc):
            message = f"unexpected {type(exc).__name__}: {message}"
        else:
            for kind, hint in _HINTS:
                if isinstance(exc, kind):
                    if "modelshelf " not in message and "--debug" not in message:
                        message = f"{message}; {hint}"
                    break
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def report(
    exc: BaseException, *, debug: bool, secrets: Iterable[str] = (), keep: Iterable[str] = ()
) -> int:
    """Print ``exc`` to stderr (a traceback first with ``debug`` or for a bug) and return the
    exit code. Credentials (``secrets``, and any URL password or signature) show as ``***``."""
    secrets, keep = tuple(secrets), tuple(keep)
    code = exit_code(exc)
    usage = isinstance(exc, click.ClickException | click.Abort)
    if (debug and not usage) or code == EXIT_BUG:
        text = "".join(traceback.format_exception(exc))
        sys.stderr.write(redact(text, secrets, keep=keep))
        sys.stderr.flush()
    line = f"error: {redact(one_line(exc), secrets, keep=keep)}"
    if code == EXIT_BUG and not debug:
        line += " (this is a bug in modelshelf; please report it with the traceback above)"
    click.echo(line, err=True)
    return code
