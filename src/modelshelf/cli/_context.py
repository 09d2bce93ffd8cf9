"""What every command shares: the global options, the shelf they name, and option parsing.

The global options (``--shelf``, ``--storage-option``, ``--json``, ``--debug``) are accepted
both before the command (``modelshelf --json models list``) and after it
(``modelshelf models list --json``), so scripts can append them wherever is handy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # pragma: no cover
    from modelshelf._shelf import Shelf
    from modelshelf.client import Client

__all__ = [
    "DURATION",
    "State",
    "global_options",
    "name_filter",
    "parse_duration",
    "parse_key_values",
    "pass_state",
]

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class State:
    """The global options of one invocation, and the shelf/client they open (lazily)."""

    shelf_url: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    debug: bool = False
    _shelf: Shelf | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, repr=False)

    def url(self) -> str:
        """``--shelf``, else ``MODELSHELF_URI``, else ``./shelf``."""
        from modelshelf import _settings

        return self.shelf_url or _settings.shelf_uri()

    def secrets(self) -> frozenset[str]:
        """The credentials in the shelf URL and ``--storage-option`` values (never printed)."""
        from modelshelf.storage import secrets_of

        try:
            return secrets_of(self.url(), self.storage_options)
        except Exception:  # noqa: BLE001 - reporting an error must not fail on a bad URL
            return frozenset()

    def shown_urls(self) -> tuple[str, ...]:
        """The shelf URL as it may be shown (credentials masked), kept whole in messages."""
        from modelshelf.storage import redact_url

        try:
            return (redact_url(self.url()),)
        except Exception:  # noqa: BLE001
            return ()

    def shelf(self) -> Shelf:
        """The shelf named by the options, opened once; also made the current shelf so that
        URI resolution and model loading (which use the current shelf) read the same one."""
        if self._shelf is None:
            from modelshelf._shelf import Shelf, set_shelf

            self._shelf = set_shelf(Shelf(self.url(), **self.storage_options))
        return self._shelf

    def client(self) -> Client:
        """A :class:`~modelshelf.client.Client` on :meth:`shelf`."""
        if self._client is None:
            from modelshelf.client import Client

            self._client = Client(self.shelf())
        return self._client


pass_state = click.make_pass_decorator(State, ensure=True)


def _state(ctx: click.Context) -> State:
    return ctx.ensure_object(State)


def _set_shelf(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _state(ctx).shelf_url = value


def _set_options(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> None:
    if value:
        _state(ctx).storage_options.update(parse_key_values(value, "--storage-option"))


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state(ctx).json = True


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state(ctx).debug = True


def global_options(func: _F) -> _F:
    """Add ``--shelf``, ``--storage-option``, ``--json`` and ``--debug`` to a command.

    The values go into the shared :class:`State`, not into the command's arguments.
    """
    decorators = [
        click.option(
            "--shelf",
            metavar="URL",
            expose_value=False,
            callback=_set_shelf,
            help="Shelf URL (default: $MODELSHELF_URI, else ./shelf).",
        ),
        click.option(
            "--storage-option",
            "storage_option",
            metavar="KEY=VALUE",
            multiple=True,
            expose_value=False,
            callback=_set_options,
            help="fsspec option for the shelf, e.g. endpoint_url=http://…; values are parsed "
            "as JSON when they can be (repeatable).",
        ),
        click.option(
            "--json",
            "json_",
            is_flag=True,
            expose_value=False,
            callback=_set_json,
            help="Print JSON for scripts instead of tables.",
        ),
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            callback=_set_debug,
            help="Show the full traceback on errors.",
        ),
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


def parse_key_values(items: Iterable[str], option: str) -> dict[str, Any]:
    """``["key=value", …]`` -> ``{key: value}``; a value that parses as JSON becomes that
    value (``anon=true`` -> True, ``client_kwargs={"region_name": "eu-west-1"}`` -> a dict),
    anything else stays a string.

    Raises:
        click.BadParameter: an item without ``=`` or with an empty key.
    """
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        parsed[key] = value
    return parsed


def name_filter(name: str) -> str:
    """A ``name = '…'`` registry filter clause that survives quotes in the name."""
    quoted = name.replace("'", "''")
    return f"name = '{quoted}'"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


MAX_DURATION = timedelta(days=36_500)


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``1h30m``, ``90s``, ``2w`` or ``0`` -> a timedelta.

    Raises:
        ValueError: anything else (a bare number other than 0 is refused: minutes or days?),
            or a duration longer than ``maximum`` (100 years by default).
    """
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned and set(cleaned) <= {"0", "."} and cleaned.strip(".") != "":
        return timedelta(0)
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise ValueError(
            f"not a duration: {text!r}; use a number with a unit (s, m, h, d or w), "
            "e.g. 30m, 24h, 7d, 1h30m, or 0"
        )
    # compare as floats: timedelta() itself overflows on absurd values
    if not seconds <= maximum.total_seconds():
        raise ValueError(
            f"duration {text!r} is too long: the longest is {maximum.days}d "
            f"({maximum.days // 365} years)"
        )
    return timedelta(seconds=seconds)


class _Duration(click.ParamType):  # type: ignore[type-arg]  # generic only in click ≥ 8.2
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = _Duration()
