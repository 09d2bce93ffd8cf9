"""MLflow's search subset: filter strings, ``order_by`` and page tokens.

Filters are clauses joined by ``AND``: ``name = 'x'``, ``name LIKE 'x%'``, ``name ILIKE '%X%'``,
``name != 'x'``, ``tags.k = 'v'`` (or ``tags.`a key` = 'v'``, and LIKE/ILIKE/!= on tag values),
``run_id = 'r'``, ``run_id IN ('a', 'b')``, ``version_number = 3`` (also ``>``, ``<``, …),
``source_path = '…'``, ``digest = 'sha256:…'``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from modelshelf.errors import InvalidInputError

__all__ = [
    "Clause",
    "decode_token",
    "encode_token",
    "matches",
    "order_key",
    "parse_filter",
    "parse_order_by",
]

_T = TypeVar("_T")

_ATTRS = {
    "name": "name",
    "run_id": "run_id",
    "version_number": "version",
    "version": "version",
    "source_path": "source",
    "source": "source",
    "digest": "digest",
    "current_stage": "current_stage",
    "user_id": "user_id",
}


@dataclass(frozen=True, slots=True)
class Clause:
    """``attr op value``; ``attr`` is an entity field or ``tags.<key>``."""

    attr: str
    op: str
    value: Any


_OPS = ("!=", ">=", "<=", "<>", "=", ">", "<", "(", ")", ",")


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split a filter into (kind, text) tokens: str, num, op, ident (tags.<key>) or word."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(text)

    def fail() -> InvalidInputError:
        return InvalidInputError(
            f"cannot parse the filter {text!r} near {text[pos : pos + 20]!r}; "
            "expected clauses like name = 'x' AND tags.k = 'v'"
        )

    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif ch in "'\"":
            end = pos + 1
            while True:
                if end >= n:
                    raise fail()
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == ch:
                    if ch == "'" and end + 1 < n and text[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            out.append(("str", text[pos : end + 1]))
            pos = end + 1
        elif "0" <= ch <= "9" or (ch == "-" and pos + 1 < n and "0" <= text[pos + 1] <= "9"):
            m = re.compile(r"-?\d+(?:\.\d+)?").match(text, pos)
            assert m is not None
            out.append(("num", m.group()))
            pos = m.end()
        elif any(text.startswith(op, pos) for op in _OPS):
            op = next(op for op in _OPS if text.startswith(op, pos))
            out.append(("op", op))
            pos += len(op)
        elif ch.isalpha() or ch == "_":
            m = re.compile(r"[\w.]+").match(text, pos)
            assert m is not None
            word, pos = m.group(), m.end()
            if word.lower() in ("tags.", "tag.") and pos < n and text[pos] in '`"':
                close = text.find(text[pos], pos + 1)
                if close < 0:
                    raise fail()
                out.append(("ident", "tags." + text[pos + 1 : close]))
                pos = close + 1
            elif word.lower().startswith(("tags.", "tag.")):
                out.append(("ident", "tags." + word.split(".", 1)[1]))
            else:
                out.append(("word", word))
        else:
            raise fail()
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "str":
        quote = raw[0]
        body = raw[1:-1]
        return body.replace(quote * 2, quote).replace("\\" + quote, quote)
    if kind == "num":
        return float(raw) if "." in raw else int(raw)
    raise InvalidInputError(f"expected a quoted string or a number in the filter, got {raw!r}")


def parse_filter(text: str | None, allowed: Sequence[str]) -> list[Clause]:
    """Parse a filter string into clauses (all must hold).

    Raises:
        InvalidInputError: a syntax error, or an attribute not in ``allowed`` (named).
    """
    if text is None or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise InvalidInputError(f"invalid filter {text!r}: expected {what}")

    while i < len(tokens):
        kind, raw = tokens[i]
        if kind == "ident":
            attr = raw
        elif kind == "word" and raw.lower() in _ATTRS:
            attr = _ATTRS[raw.lower()]
        else:
            raise InvalidInputError(
                f"invalid filter {text!r}: unknown attribute {raw!r}; "
                f"use one of {', '.join(allowed)} or tags.<key>"
            )
        if not attr.startswith("tags.") and attr not in allowed:
            raise InvalidInputError(
                f"invalid filter {text!r}: {raw!r} cannot be searched here; "
                f"use one of {', '.join(allowed)} or tags.<key>"
            )
        i += 1
        need(i < len(tokens), "an operator")
        kind, raw = tokens[i]
        op = raw.upper()
        if kind == "word" and op == "NOT":
            i += 1
            need(
                i < len(tokens) and tokens[i][1].upper() in ("IN", "LIKE", "ILIKE"),
                "IN, LIKE or ILIKE after NOT",
            )
            op = "NOT " + tokens[i][1].upper()
        elif op == "<>":
            op = "!="
        need(
            op
            in (
                "=",
                "!=",
                ">",
                "<",
                ">=",
                "<=",
                "LIKE",
                "ILIKE",
                "IN",
                "NOT IN",
                "NOT LIKE",
                "NOT ILIKE",
            ),
            f"an operator, got {raw!r}",
        )
        i += 1
        if op in ("IN", "NOT IN"):
            need(i < len(tokens) and tokens[i][1] == "(", "'(' after IN")
            i += 1
            values: list[Any] = []
            while True:
                need(i < len(tokens), "a value or ')'")
                kind, raw = tokens[i]
                values.append(_literal(kind, raw))
                i += 1
                need(i < len(tokens), "',' or ')'")
                if tokens[i][1] == ")":
                    i += 1
                    break
                need(tokens[i][1] == ",", "',' or ')'")
                i += 1
            value: Any = values
        else:
            need(i < len(tokens), "a value")
            value = _literal(*tokens[i])
            i += 1
        if attr == "version":
            try:
                value = [int(v) for v in value] if isinstance(value, list) else int(value)
            except (TypeError, ValueError):
                raise InvalidInputError(f"invalid filter {text!r}: versions are numbers") from None
        clauses.append(Clause(attr, op, value))
        if i < len(tokens):
            need(tokens[i][1].upper() == "AND", "AND between clauses (OR is not supported)")
            i += 1
            need(i < len(tokens), "a clause after AND")
    return clauses


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(parts) + "$", flags | re.DOTALL)


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op in ("IN", "NOT IN"):
        found = actual in expected
        return found if op == "IN" else not found
    if actual is None:
        return op == "!=" and expected is not None
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op.endswith("LIKE"):
        flags = re.IGNORECASE if "ILIKE" in op else 0
        hit = bool(_like(str(expected), flags).match(str(actual)))
        return not hit if op.startswith("NOT") else hit
    try:
        return bool(
            {
                ">": actual > expected,
                "<": actual < expected,
                ">=": actual >= expected,
                "<=": actual <= expected,
            }[op]
        )
    except TypeError:
        return False


def matches(clauses: list[Clause], get: Callable[[str], Any], tags: dict[str, str]) -> bool:
    """Whether an entity (its fields through ``get``, plus its ``tags``) satisfies every clause."""
    for clause in clauses:
        if clause.attr.startswith("tags."):
            actual: Any = tags.get(clause.attr[5:])
        else:
            actual = get(clause.attr)
        if not _test(clause.op, actual, clause.value):
            return False
    return True


_ORDER = re.compile(r"^\s*([\w.`]+)\s*(ASC|DESC)?\s*$", re.IGNORECASE)


def parse_order_by(
    order_by: Sequence[str] | None, allowed: dict[str, str], default: list[tuple[str, bool]]
) -> list[tuple[str, bool]]:
    """``["name ASC", "version_number DESC"]`` -> ``[(field, descending), …]``.

    Raises:
        InvalidInputError: an unknown column or a malformed clause.
    """
    if not order_by:
        return default
    if isinstance(order_by, str):
        order_by = [order_by]
    out: list[tuple[str, bool]] = []
    for item in order_by:
        m = _ORDER.match(str(item))
        column = m.group(1).strip("`").lower() if m else None
        if m is None or column not in allowed:
            raise InvalidInputError(
                f"invalid order_by clause {item!r}; use one of {', '.join(sorted(allowed))} "
                "optionally followed by ASC or DESC"
            )
        out.append((allowed[column], (m.group(2) or "ASC").upper() == "DESC"))
    for tie in default:  # a stable, total order, whatever the user asked
        if all(tie[0] != f for f, _ in out):
            out.append(tie)
    return out


class _Desc:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)


def order_key(
    order: list[tuple[str, bool]], get: Callable[[Any, str], Any]
) -> Callable[[Any], Any]:
    def key(item: Any) -> tuple[Any, ...]:
        parts: list[Any] = []
        for field, desc in order:
            value = get(item, field)
            value = (value is None, value if value is not None else 0)
            parts.append(_Desc(value) if desc else value)
        return tuple(parts)

    return key


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    """Raises InvalidInputError for a token this module did not make."""
    if not token:
        return 0
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        if offset < 0:
            raise ValueError(offset)
        return offset
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInputError(f"invalid page_token {token!r}; pass the .token of a page") from exc
