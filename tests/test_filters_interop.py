"""Parity with real MLflow's search-filter parser on filters MLflow accepts."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from modelshelf._filters import Fields, parse_filter
from modelshelf.registry._search import MODEL_FIELDS, VERSION_FIELDS
from modelshelf.runs._search import RUN_FIELDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pytest.importorskip("mlflow")
    from mlflow.utils import search_utils

pytestmark = pytest.mark.interop

_KINDS = {"metric": "metrics", "parameter": "params", "tag": "tags", "attribute": "attributes"}

RUN_FILTERS = [
    "metrics.acc > 0.9",
    "metrics.acc > 0.9 and params.lr = '0.1'",
    "metric.loss <= -1e-3 AND param.depth != '3'",
    "metrics.x<-1e-3",
    "params.`my param` = 'a b'",
    'tags."my tag" = "x y"',
    "tags.`mlflow.runName` LIKE 'run-%'",
    "tags.k ILIKE '%AbC%'",
    "attributes.status = 'FINISHED'",
    "attribute.run_name != 'x'",
    "run_name = 'r1'",
    "status != 'RUNNING' and run_name LIKE 'r%'",
    "start_time >= 10",
    "attributes.end_time < 1700000000000",
    "user_id = 'alice'",
    "artifact_uri LIKE 'file:%'",
    "run_id IN ('a', 'b')",
    "attributes.run_id NOT IN ('a')",
    "tags.k NOT LIKE 'a%'",
    "metrics.acc >= 1 AND metrics.acc <= 2 AND tags.t = 'v'",
]
MODEL_FILTERS = [
    "name = 'm'",
    "name LIKE 'churn%'",
    "name ILIKE '%CHURN%'",
    "name != 'x'",
    "name IN ('a', 'b')",
    "tags.team = 'risk'",
    "tag.`a key` != 'v'",
    "attribute.name = 'm' AND tags.k LIKE 'v%'",
]
VERSION_FILTERS = [
    "name = 'm'",
    "name = 'm' and version_number > 1",
    "version_number = 3",
    "run_id = 'r3'",
    "run_id IN ('r1', 'r2')",
    "source_path = 'models:/m/1'",
    "tags.`i` = '0'",
    "tags.k NOT LIKE 'x%'",
    "name LIKE 'm%' AND tags.stage ILIKE 'PROD%' AND version_number <= 10",
]


def _theirs(parser: Any, text: str, fields: Fields) -> list[tuple[Any, ...]]:
    out = []
    for item in parser.parse_search_filter(text):
        kind, key = _KINDS[item["type"]], item["key"]
        if kind == "attributes":
            key = fields.attributes[key.lower()]
        value = item["value"]
        if fields.is_numeric(kind, key):
            value = float(value)
        elif isinstance(value, (list, tuple)):
            value = tuple(value)
        out.append((kind, key, item["comparator"], value))
    return out


def _ours(text: str, fields: Fields) -> list[tuple[Any, ...]]:
    out = []
    for c in parse_filter(text, fields):
        value = float(c.value) if fields.is_numeric(c.kind, c.key) else c.value
        out.append((c.kind, c.key, c.op, value))
    return out


@pytest.mark.parametrize(
    ("parser", "fields", "text"),
    [("SearchUtils", RUN_FIELDS, f) for f in RUN_FILTERS]
    + [("SearchModelUtils", MODEL_FIELDS, f) for f in MODEL_FILTERS]
    + [("SearchModelVersionUtils", VERSION_FIELDS, f) for f in VERSION_FILTERS],
)
def test_same_clauses_as_mlflow(parser: str, fields: Fields, text: str) -> None:
    assert _ours(text, fields) == _theirs(getattr(search_utils, parser), text, fields)


@pytest.mark.parametrize(
    ("parser", "fields", "text"),
    [
        ("SearchUtils", RUN_FIELDS, "metrics.acc > 'high'"),
        ("SearchUtils", RUN_FIELDS, "params.lr = 0.1"),
        ("SearchUtils", RUN_FIELDS, "nosuch = 'x'"),
        ("SearchUtils", RUN_FIELDS, "metrics.a > 1 or metrics.b > 1"),
        ("SearchModelUtils", MODEL_FIELDS, "run_id = 'x'"),
        ("SearchModelUtils", MODEL_FIELDS, "metrics.a > 1"),
        ("SearchModelVersionUtils", VERSION_FIELDS, "foo = 'x'"),
        ("SearchModelVersionUtils", VERSION_FIELDS, "name = 'x' OR name = 'y'"),
    ],
)
def test_both_reject(parser: str, fields: Fields, text: str) -> None:
    from mlflow.exceptions import MlflowException

    from modelshelf.errors import InvalidFilterError

    with pytest.raises(MlflowException):
        getattr(search_utils, parser).parse_search_filter(text)
    with pytest.raises(InvalidFilterError):
        parse_filter(text, fields)
