"""The run filter parser (pure)."""

from __future__ import annotations

import pytest

from modelshelf.errors import InvalidInputError
from modelshelf.runs._search import Clause, parse_filter, parse_order_by


def test_parse_filters() -> None:
    assert parse_filter("") == []
    assert parse_filter("metrics.acc > 0.9 AND params.lr = '0.1'") == [
        Clause("metrics", "acc", ">", 0.9),
        Clause("params", "lr", "=", "0.1"),
    ]
    assert parse_filter('tags."my tag" != "x y"') == [Clause("tags", "my tag", "!=", "x y")]
    assert parse_filter("tags.`a.b` ILIKE '%X%'") == [Clause("tags", "a.b", "ILIKE", "%X%")]
    assert parse_filter("status IN ('FAILED', 'KILLED')") == [
        Clause("attributes", "status", "IN", ("FAILED", "KILLED"))
    ]
    assert parse_filter("attributes.start_time >= 10 and metrics.x<-1e-3") == [
        Clause("attributes", "start_time", ">=", 10.0),
        Clause("metrics", "x", "<", -0.001),
    ]
    assert parse_filter("params.p NOT IN ('a')") == [Clause("params", "p", "NOT IN", ("a",))]


@pytest.mark.parametrize(
    "bad",
    [
        "metrics.acc",
        "metrics.acc > 'high'",
        "params.lr = 0.1",
        "nosuchattr = 'x'",
        "metrics.a > 1 or metrics.b > 1",
        "metrics.a > 1 and",
        "status IN 'x'",
        "status IN ('x'",
        "metrics.a > 1 metrics.b > 2",
        "'x' = params.a",
        "params.a = 'x' ;",
    ],
)
def test_bad_filters(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_filter(bad)


def test_order_by() -> None:
    keys = parse_order_by(["metrics.acc DESC", "start_time", "params.`lr` asc"])
    assert [(k.kind, k.key, k.ascending) for k in keys] == [
        ("metrics", "acc", False),
        ("attributes", "start_time", True),
        ("params", "lr", True),
    ]
    with pytest.raises(InvalidInputError):
        parse_order_by(["bogus DESC"])
