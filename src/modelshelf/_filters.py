"""MLflow's search grammar, written once for runs and the registry.

A filter is comparisons joined by ``AND`` (case-insensitive)::

    metrics.acc > 0.9 AND params.lr = '0.1' AND tags.`a key` LIKE 'x%'
    name ILIKE '%churn%' AND run_id IN ('a', 'b') AND version_number >= 3

- A field is ``<prefix>.<key>`` or a bare attribute; which prefixes and attributes exist is
  the entity's :class:`Fields` (runs: ``metrics.``/``params.``/``tags.``/``attributes.`` and
  MLflow's aliases; registry: ``tags.`` and ``attribute.``). A key with spaces or dots is quoted
  with backticks or double quotes: ``tags."my tag"``.
- Operators: ``= != <> < <= > >=`` on numbers; ``= != LIKE ILIKE NOT LIKE NOT ILIKE`` on strings
  (``%`` any run of characters, ``_`` one character); ``IN (…)`` / ``NOT IN (…)`` on both.
- Strings are single- or double-quoted; a quote inside is doubled (``'it''s'``) or escaped
  with a backslash. Numbers are unquoted.

Every problem, whatever the input (text or not), is an :class:`InvalidFilterError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from modelshelf.errors import InvalidFilterError

__all__ = ["Clause", "Fields", "OrderKey", "like", "parse_filter", "parse_order_by"]

NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN"})


@dataclass(frozen=True)
class Fields:
    """What one kind of entity can be searched and ordered on.

    Attributes:
        prefixes: lower-case prefix (``"metric"``, ``"tags"`` …) -> kind it selects
            (``"metrics"``, ``"params"``, ``"tags"``; ``"attributes"`` for entity fields).
        attributes: lower-case attribute name or alias -> the entity field it means.
        numeric: fields (after aliasing) and kinds whose values are numbers.
        integer: numeric fields whose values are whole numbers (quoted digits are accepted).
        orderable: like ``attributes``, for ``order_by`` (defaults to ``attributes``).
    """

    prefixes: Mapping[str, str]
    attributes: Mapping[str, str]
    numeric: frozenset[str] = frozenset()
    integer: frozenset[str] = frozenset()
    orderable: Mapping[str, str] | None = None

    def is_numeric(self, kind: str, key: str) -> bool:
        return kind in self.numeric or (kind == "attributes" and key in self.numeric)


@dataclass(frozen=True, slots=True)
class Clause:
    """One ``<kind>.<key> <op> <value>`` comparison (``kind`` is ``attributes`` for fields)."""

    kind: str
    key: str
    op: str
    value: Any  # str | int | float, or a tuple of them for IN / NOT IN

    def test(self, actual: Any) -> bool:
        """Whether the entity's value satisfies the clause; a missing value never does."""
        if actual is None:
            return False
        if self.op in ("IN", "NOT IN"):
            return (_coerce(actual, self.value) in self.value) == (self.op == "IN")
        if self.op.endswith("LIKE"):
            hit = like(str(self.value), ignore_case="ILIKE" in self.op).fullmatch(str(actual))
            return (hit is None) == self.op.startswith("NOT")
        actual = _coerce(actual, (self.value,))
        try:
            return _COMPARE[self.op](actual, self.value)
        except TypeError:  # a stored value of another type than the filter's literal
            return False


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _coerce(actual: Any, values: Sequence[Any]) -> Any:
    # Stored metrics are floats, stored params/tags strings: compare like with like.
    if values and all(isinstance(v, (int, float)) for v in values):
        try:
            return float(actual) if not isinstance(actual, int) else actual
        except (TypeError, ValueError):
            return actual
    return actual if isinstance(actual, str) or not values else str(actual)


@lru_cache(maxsize=256)
def like(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """SQL ``LIKE`` as a regular expression (``%`` any run, ``_`` one character)."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


# -- tokens ------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<num>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"(?:[^"]|"")+"|[\w./:\-]+)|`[^`]+`)
      | (?P<op>!=|<>|<=|>=|=|<|>)
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<comma>,)
    )""",
    re.VERBOSE | re.DOTALL,
)
_Token = tuple[str, str]


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while text[pos:].strip():
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            near = text[pos:].strip()[:30]
            raise InvalidFilterError(
                f"cannot read the filter {text!r} near {near!r}; write clauses like "
                "metrics.acc > 0.9 AND tags.k = 'v'"
            )
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(text: str) -> str:
    quote, body = text[0], text[1:-1]
    return re.sub(r"\\([\\'\"])|" + re.escape(quote * 2), lambda m: m.group(1) or quote, body)


def _literal(token: _Token, bad: Callable[[str], InvalidFilterError]) -> str | int | float:
    kind, text = token
    if kind == "str":
        return _unquote(text)
    if kind == "num":
        try:
            return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        except ValueError:  # more digits than Python converts
            raise bad(f"the number {text[:20]}… is too long") from None
    raise bad(f"expected a quoted string or a number, got {text!r}")


def _field(text: str, fields: Fields, names: Mapping[str, str], where: str) -> tuple[str, str]:
    """``tags.`a b``` -> ("tags", "a b"); ``name`` -> ("attributes", "name")."""
    head, dot, rest = text.partition(".")
    if dot and head.lower() in fields.prefixes and rest:
        kind, key = fields.prefixes[head.lower()], rest
    else:
        kind, key = "attributes", text
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = key[1:-1].replace('""', '"') if key[0] == '"' else key[1:-1]
    if kind == "attributes":
        canonical = names.get(key.lower())
        if canonical is None:
            choices = ", ".join(sorted({*names.values()}))
            prefixes = ", ".join(sorted(f"{p}.<key>" for p, k in fields.prefixes.items() if p == k))
            raise InvalidFilterError(
                f"unknown field {text!r} in {where!r}; use one of {choices}"
                + (f" or {prefixes}" if prefixes else "")
            )
        key = canonical
    return kind, key


def parse_filter(text: Any, fields: Fields) -> list[Clause]:
    """Parse an MLflow filter string into clauses that must all hold.

    Args:
        text: the filter; None or blank means no filter.
        fields: what the entity can be searched on.

    Raises:
        InvalidFilterError: not a string, a syntax error, an unknown field, an operator the
            field does not support, or a value of the wrong type (the message says which).
    """
    if text is None:
        return []
    if not isinstance(text, str):
        raise InvalidFilterError(
            f"filter_string must be a string such as \"name = 'x'\", got {type(text).__name__}"
        )
    if not text.strip():
        return []

    def bad(msg: str) -> InvalidFilterError:
        return InvalidFilterError(f"invalid filter {text!r}: {msg}")

    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0
    while i < len(tokens):
        kind_tok, raw = tokens[i]
        if kind_tok != "ident":
            raise bad(f"expected a field such as metrics.acc or name, got {raw!r}")
        kind, key = _field(raw, fields, fields.attributes, text)
        i += 1
        if i >= len(tokens):
            raise bad(f"{raw!r} has no comparison")
        op_kind, op_raw = tokens[i]
        op = {"<>": "!="}.get(op_raw, op_raw.upper())
        if op_kind == "ident" and op == "NOT":
            i += 1
            following = tokens[i][1].upper() if i < len(tokens) else ""
            if following not in ("IN", "LIKE", "ILIKE"):
                raise bad("expected IN, LIKE or ILIKE after NOT")
            op = f"NOT {following}"
        elif op_kind == "ident" and op not in ("LIKE", "ILIKE", "IN"):
            raise bad(f"expected an operator after {raw!r}, got {op_raw!r}")
        elif op_kind not in ("ident", "op"):
            raise bad(f"expected an operator after {raw!r}, got {op_raw!r}")
        i += 1
        if op in ("IN", "NOT IN"):
            if i >= len(tokens) or tokens[i][0] != "lpar":
                raise bad(f"{op} needs a parenthesised list, like ('a', 'b')")
            i += 1
            values: list[Any] = []
            while True:
                if i >= len(tokens):
                    raise bad("unclosed parenthesis")
                values.append(_literal(tokens[i], bad))
                i += 1
                if i < len(tokens) and tokens[i][0] == "rpar":
                    i += 1
                    break
                if i >= len(tokens) or tokens[i][0] != "comma":
                    raise bad("expected ',' or ')' in the list")
                i += 1
            value: Any = tuple(values)
        else:
            if i >= len(tokens):
                raise bad(f"{raw} {op_raw} has no value")
            value = _literal(tokens[i], bad)
            i += 1
        clauses.append(_typed(Clause(kind, key, op, value), fields, bad))
        if i < len(tokens):
            if tokens[i][0] != "ident" or tokens[i][1].upper() != "AND":
                raise bad(f"expected AND before {tokens[i][1]!r} (OR is not supported)")
            i += 1
            if i >= len(tokens):
                raise bad("nothing after the last AND")
    return clauses


def _typed(clause: Clause, fields: Fields, bad: Callable[[str], InvalidFilterError]) -> Clause:
    """Check the operator and value against the field's type; whole-number fields get ints."""
    name = clause.key if clause.kind == "attributes" else f"{clause.kind}.{clause.key}"
    values = clause.value if isinstance(clause.value, tuple) else (clause.value,)
    if fields.is_numeric(clause.kind, clause.key):
        if clause.op not in NUMERIC_OPS:
            raise bad(f"{name} is a number; use one of {', '.join(sorted(NUMERIC_OPS))}")
        if clause.kind == "attributes" and clause.key in fields.integer:
            try:
                values = tuple(int(v) for v in values)
            except (TypeError, ValueError, OverflowError):
                raise bad(f"{name} is a whole number; write it like 3") from None
        elif not all(isinstance(v, (int, float)) for v in values):
            raise bad(f"{name} is a number; write the value unquoted")
    else:
        if clause.op not in STRING_OPS:
            raise bad(f"{name} is a string; use one of {', '.join(sorted(STRING_OPS))}")
        if not all(isinstance(v, str) for v in values):
            raise bad(f"{name} is a string; quote the value")
    value = values if isinstance(clause.value, tuple) else values[0]
    return Clause(clause.kind, clause.key, clause.op, value)


# -- order_by ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``order_by`` entry: the field and its direction."""

    kind: str
    key: str
    ascending: bool


def parse_order_by(order_by: Any, fields: Fields) -> list[OrderKey]:
    """Parse ``["metrics.acc DESC", "start_time"]`` (a single string is one entry).

    Raises:
        InvalidFilterError: not strings, or an entry is not ``<field> [ASC|DESC]`` on a field
            that can be ordered by.
    """
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else order_by
    if not isinstance(items, (list, tuple)):
        raise InvalidFilterError(
            f"order_by must be a list of strings such as ['name DESC'], got {type(items).__name__}"
        )
    names = fields.orderable if fields.orderable is not None else fields.attributes
    keys: list[OrderKey] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidFilterError(f"invalid order_by clause {item!r}; write 'name ASC'")
        parts = item.strip().rsplit(None, 1)
        ascending = True
        text = item.strip()
        if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC"):
            ascending, text = parts[1].upper() == "ASC", parts[0].strip()
        try:
            kind, key = _field(text, fields, names, item)
        except InvalidFilterError as exc:
            raise InvalidFilterError(
                f"invalid order_by clause {item!r}: {exc}; optionally followed by ASC or DESC"
            ) from None
        keys.append(OrderKey(kind, key, ascending))
    return keys
