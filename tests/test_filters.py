"""The one MLflow filter grammar (modelshelf._filters), through both entities' fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelshelf._filters import Clause, parse_filter, parse_order_by
from modelshelf._paging import decode_token, encode_token
from modelshelf.errors import InvalidFilterError, InvalidInputError, ModelshelfError
from modelshelf.registry._search import MODEL_FIELDS, VERSION_FIELDS
from modelshelf.runs._search import RUN_FIELDS

ALL_FIELDS = [RUN_FIELDS, MODEL_FIELDS, VERSION_FIELDS]


@pytest.mark.parametrize("fields", ALL_FIELDS, ids=["runs", "models", "versions"])
def test_not_like_parses_for_every_entity(fields: Any) -> None:
    key = "tags"
    assert parse_filter(f"{key}.k NOT LIKE 'a%'", fields) == [Clause("tags", "k", "NOT LIKE", "a%")]
    assert parse_filter("tags.k not ilike '%A'", fields) == [Clause("tags", "k", "NOT ILIKE", "%A")]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("LIKE", "ab%", [True, True, False, False]),
        ("NOT LIKE", "ab%", [False, False, True, False]),  # a missing value never matches
        ("ILIKE", "AB_", [False, True, False, False]),
        ("NOT ILIKE", "AB_", [True, False, True, False]),
    ],
)
def test_like_family_semantics(op: str, value: str, expected: list[bool]) -> None:
    clause = Clause("tags", "k", op, value)
    assert [clause.test(v) for v in ["ab", "abc", "xab", None]] == expected


def test_quoting_and_escapes() -> None:
    assert parse_filter("tags.`a.b c` = 'it''s'", RUN_FIELDS) == [
        Clause("tags", "a.b c", "=", "it's")
    ]
    assert parse_filter('tags."k" = "say \\"hi\\""', RUN_FIELDS) == [
        Clause("tags", "k", "=", 'say "hi"')
    ]
    assert parse_filter("name = 'a''b'", MODEL_FIELDS) == [Clause("attributes", "name", "=", "a'b")]


def test_prefixes_are_per_entity() -> None:
    # Runs know metrics/params; the registry only tags and attributes.
    assert parse_filter("metric.acc > 1 and parameter.lr = '1'", RUN_FIELDS)[1].kind == "params"
    with pytest.raises(InvalidFilterError, match="unknown field"):
        parse_filter("metrics.acc > 1", MODEL_FIELDS)
    assert parse_filter("attribute.name = 'm'", MODEL_FIELDS) == [
        Clause("attributes", "name", "=", "m")
    ]
    with pytest.raises(InvalidFilterError, match="run_id"):
        parse_filter("run_id = 'x'", MODEL_FIELDS)


def test_types_are_checked() -> None:
    assert parse_filter("version_number IN (1, '2')", VERSION_FIELDS) == [
        Clause("attributes", "version", "IN", (1, 2))
    ]
    for bad in ["version_number = 'x'", "name > 'a'", "name = 3", "metrics.a LIKE '1%'"]:
        with pytest.raises(InvalidFilterError):
            parse_filter(bad, VERSION_FIELDS if "version" in bad or "name" in bad else RUN_FIELDS)


@pytest.mark.parametrize("value", [3, 2.5, b"name = 'x'", ["name = 'x'"], {"name": "x"}, object()])
def test_a_filter_that_is_not_text_is_a_typed_error(value: Any) -> None:
    for fields in ALL_FIELDS:
        with pytest.raises(InvalidFilterError, match="must be a string"):
            parse_filter(value, fields)


def test_errors_are_input_errors() -> None:
    assert issubclass(InvalidFilterError, InvalidInputError)
    assert issubclass(InvalidFilterError, ValueError)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_ever_raises_modelshelf_errors(text: str) -> None:
    for fields in ALL_FIELDS:
        try:
            clauses = parse_filter(text, fields)
        except ModelshelfError:
            continue
        for clause in clauses:  # what parses also evaluates, on any stored value
            for actual in (None, "x", 1.5, 3):
                assert isinstance(clause.test(actual), bool)


_WORDS = st.sampled_from(
    [
        "metrics.a", "params.b", "tags.`c d`", "name", "version_number", "run_id", "status",
        "=", "!=", "<>", ">=", "<", "LIKE", "NOT", "ILIKE", "IN", "and", "AND", "OR", "(", ")",
        ",", "'x'", '"y"', "'%'", "1", "-2.5e3", "99999999999999999999999999", "`", "'",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, max_size=12).map(" ".join))
def test_near_miss_filters_only_ever_raise_modelshelf_errors(text: str) -> None:
    for fields in ALL_FIELDS:
        try:
            parse_filter(text, fields)
        except ModelshelfError:
            pass


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(), st.floats(), st.binary(), st.lists(st.text()), st.dictionaries(st.text(), st.text()),
        st.booleans(), st.tuples(st.integers()), st.text(),
    )
)  # fmt: skip
def test_arbitrary_objects_only_ever_raise_modelshelf_errors(value: Any) -> None:
    for fields in ALL_FIELDS:
        for call in (parse_filter, parse_order_by):
            try:
                call(value, fields)
            except ModelshelfError:
                pass
    try:
        decode_token(value)
    except ModelshelfError:
        pass


def test_order_by() -> None:
    keys = parse_order_by(["version_number DESC", "`name`"], VERSION_FIELDS)
    assert [(k.key, k.ascending) for k in keys] == [("version", False), ("name", True)]
    with pytest.raises(InvalidFilterError, match="order_by"):
        parse_order_by(["size DESC"], MODEL_FIELDS)


def test_page_tokens_are_bound_to_their_search() -> None:
    token = encode_token(5, "query-a")
    assert decode_token(token, "query-a") == 5
    with pytest.raises(InvalidFilterError, match="another search"):
        decode_token(token, "query-b")
    for garbage in ["garbage!", "e30=", encode_token(-1)[:-2] + "xx", 7]:
        with pytest.raises(InvalidFilterError, match="page_token"):
            decode_token(garbage)
