"""MLflow's run filter strings (``metrics.acc > 0.9 and params.lr = '0.1'``) and ``order_by``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modelshelf.errors import InvalidInputError
from modelshelf.runs._entities import Run

__all__ = ["Clause", "parse_filter", "parse_order_by", "sort_runs"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[\w./:\-]+))
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<comma>,)
    )""",
    re.VERBOSE,
)
_PREFIXES = {
    "metric": "metrics", "metrics": "metrics",
    "param": "params", "params": "params", "parameter": "params", "parameters": "params",
    "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}  # fmt: skip
_ATTRIBUTES = {
    "status", "run_name", "run_id", "user_id", "start_time", "end_time", "artifact_uri",
    "experiment_id", "lifecycle_stage",
}  # fmt: skip
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}


@dataclass(frozen=True, slots=True)
class Clause:
    """One ``<kind>.<key> <op> <value>`` comparison."""

    kind: str  # metrics | params | tags | attributes
    key: str
    op: str  # = != < <= > >= LIKE ILIKE IN NOT IN
    value: Any

    def matches(self, run: Run) -> bool:
        actual = _value_of(run, self.kind, self.key)
        if actual is None:
            return False
        if self.kind == "metrics" or (
            self.kind == "attributes" and self.key in _NUMERIC_ATTRIBUTES
        ):
            return _compare(float(actual), self.op, self.value)
        return _compare(str(actual), self.op, self.value)


def _value_of(run: Run, kind: str, key: str) -> Any:
    if kind == "metrics":
        return run.data.metrics.get(key)
    if kind == "params":
        return run.data.params.get(key)
    if kind == "tags":
        return run.data.tags.get(key)
    return getattr(run.info, key, None)


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), flags | re.DOTALL)


def _compare(actual: Any, op: str, value: Any) -> bool:
    if op in ("IN", "NOT IN"):
        return (actual in value) == (op == "IN")
    if op == "LIKE":
        return bool(_like(str(value)).fullmatch(str(actual)))
    if op == "ILIKE":
        return bool(_like(str(value), re.IGNORECASE).fullmatch(str(actual)))
    if isinstance(actual, float) and not isinstance(value, float):
        raise InvalidInputError(f"cannot compare a number with {value!r}; write it unquoted")
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }  # fmt: skip
    if not isinstance(actual, float) and op not in ("=", "!="):
        raise InvalidInputError(f"operator {op!r} needs a number; params and tags are strings")
    return ops[op](actual, value)


def _split_ident(text: str, where: str) -> tuple[str, str]:
    head, dot, rest = text.partition(".")
    if dot and head.lower() in _PREFIXES:
        kind, key = _PREFIXES[head.lower()], rest
    else:
        kind, key = "attributes", text
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = key[1:-1]
    if kind == "attributes":
        key = {"name": "run_name", "run_uuid": "run_id"}.get(key.lower(), key.lower())
        if key not in _ATTRIBUTES:
            raise InvalidInputError(
                f"unknown field {text!r} in {where!r}: use metrics.<key>, params.<key>, "
                f"tags.<key> or one of {sorted(_ATTRIBUTES)}"
            )
    return kind, key


def parse_filter(text: str | None) -> list[Clause]:
    """Parse an MLflow run filter: comparisons joined by ``and``.

    Raises:
        InvalidInputError: the string is not a filter this parser understands.
    """
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def bad(msg: str) -> InvalidInputError:
        return InvalidInputError(f"bad filter {text!r}: {msg}")

    while i < len(tokens):
        kind_tok, ident = tokens[i]
        if kind_tok != "ident":
            raise bad(f"expected a field such as metrics.acc, got {ident!r}")
        kind, key = _split_ident(ident, text)
        i += 1
        if i >= len(tokens):
            raise bad(f"{ident!r} has no comparison")
        op_kind, op = tokens[i]
        op_upper = op.upper()
        if op_kind == "ident" and op_upper == "NOT" and i + 1 < len(tokens):
            if tokens[i + 1][1].upper() != "IN":
                raise bad("expected IN after NOT")
            op_upper, i = "NOT IN", i + 1
        elif op_kind == "ident" and op_upper in ("LIKE", "ILIKE", "IN"):
            pass
        elif op_kind != "op":
            raise bad(f"expected a comparison after {ident!r}, got {op!r}")
        i += 1
        if op_upper in ("IN", "NOT IN"):
            if i >= len(tokens) or tokens[i][0] != "lpar":
                raise bad("IN needs a parenthesised list")
            values: list[Any] = []
            i += 1
            while i < len(tokens) and tokens[i][0] != "rpar":
                if tokens[i][0] == "comma":
                    i += 1
                    continue
                values.append(_literal(tokens[i], bad))
                i += 1
            if i >= len(tokens):
                raise bad("unclosed parenthesis")
            i += 1
            value: Any = tuple(values)
        else:
            if i >= len(tokens):
                raise bad(f"{ident} {op} has no value")
            value = _literal(tokens[i], bad)
            i += 1
        if kind == "metrics" and op_upper not in ("IN", "NOT IN", "LIKE", "ILIKE"):
            if not isinstance(value, float):
                raise bad(f"metric {key!r} is compared with a string; write the number unquoted")
        if kind == "attributes" and key in _NUMERIC_ATTRIBUTES and isinstance(value, str):
            raise bad(f"{key} is a number (ms since the epoch)")
        if kind in ("params", "tags") or (kind == "attributes" and key not in _NUMERIC_ATTRIBUTES):
            if isinstance(value, float) and op_upper in ("=", "!="):
                raise bad(f"{kind}.{key} is a string; quote the value")
        clauses.append(Clause(kind, key, op_upper, value))
        if i < len(tokens):
            if tokens[i][0] != "ident" or tokens[i][1].upper() != "AND":
                raise bad(f"expected 'and' before {tokens[i][1]!r} (only 'and' is supported)")
            i += 1
            if i >= len(tokens):
                raise bad("dangling 'and'")
    return clauses


def _literal(token: tuple[str, str], bad: Callable[[str], InvalidInputError]) -> Any:
    kind, text = token
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "num":
        return float(text)
    raise bad(f"expected a quoted string or a number, got {text!r}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidInputError(f"bad filter {text!r}: cannot read {text[pos:].strip()!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


@dataclass(frozen=True, slots=True)
class OrderKey:
    kind: str
    key: str
    ascending: bool


def parse_order_by(order_by: Sequence[str] | None) -> list[OrderKey]:
    """Parse ``["metrics.acc DESC", "start_time"]``.

    Raises:
        InvalidInputError: an entry is not ``<field> [ASC|DESC]``.
    """
    keys: list[OrderKey] = []
    for item in order_by or ():
        parts = item.strip().rsplit(None, 1)
        ascending = True
        if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC"):
            ascending = parts[1].upper() == "ASC"
            field = parts[0]
        else:
            field = item.strip()
        kind, key = _split_ident(field, item)
        keys.append(OrderKey(kind, key, ascending))
    return keys


def sort_runs(runs: list[Run], order: Sequence[OrderKey]) -> list[Run]:
    """Sort by ``order`` (missing values last), then newest first, then run id."""
    out = sorted(runs, key=lambda r: r.info.run_id)
    out.sort(key=lambda r: r.info.start_time, reverse=True)
    for spec in reversed(order):
        present = [r for r in out if _value_of(r, spec.kind, spec.key) is not None]
        missing = [r for r in out if _value_of(r, spec.kind, spec.key) is None]
        present.sort(key=lambda r: _value_of(r, spec.kind, spec.key), reverse=not spec.ascending)
        out = present + missing
    return out
