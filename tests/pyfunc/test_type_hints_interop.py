"""modelshelf's type-hint validation against MLflow's own functions, on generated data."""

from __future__ import annotations

import datetime
from typing import Any, Optional, Union

import pandas as pd
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelshelf.errors import TypeHintError
from modelshelf.pyfunc import _type_hints

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.interop

from mlflow.types import type_hints as ml  # noqa: E402


class Item(pydantic.BaseModel):
    name: str
    n: int = 1


HINTS: list[Any] = [
    list[Item],
    list[Optional[Item]],  # noqa: UP045
    list[str],
    list[int],
    list[float],
    list[bool],
    list[bytes],
    list[datetime.datetime],
    list[Any],
    list[list[int]],
    list[dict[str, float]],
    list[dict[str, int]],
    list[dict[str, list[str]]],
    list[Optional[int]],  # noqa: UP045 - the spelling users write
    list[int | None],
    list[Union[int, str]],  # noqa: UP007
    dict[str, int],
    list[tuple[int, int]],  # unsupported: both reject
]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2001, 1, 1)),
)
ITEMS = st.fixed_dictionaries(
    {"name": st.one_of(st.text(max_size=2), st.integers(0, 2))},
    optional={"n": st.one_of(st.integers(0, 3), st.text(max_size=1)), "x": st.none()},
)
DATA = st.recursive(
    st.one_of(SCALARS, ITEMS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 3)), inner, max_size=3),
    ),
    max_leaves=8,
)


def _theirs(data: Any, hint: Any) -> tuple[str, Any]:
    try:
        return "ok", ml._validate_data_against_type_hint(data, hint)
    except mlflow.exceptions.MlflowException as exc:
        return "rejected", exc.message


def _ours(data: Any, hint: Any) -> tuple[str, Any]:
    try:
        return "ok", _type_hints.validate_data_against_type_hint(data, hint)
    except TypeHintError as exc:
        return "rejected", exc.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=DATA, hint=st.sampled_from(HINTS))
def test_validation_matches_mlflow(data: Any, hint: Any) -> None:
    theirs, ours = _theirs(data, hint), _ours(data, hint)
    assert ours == theirs, (data, hint)


@settings(max_examples=100, deadline=None)
@given(
    column=st.lists(st.one_of(st.text(max_size=3), st.integers(-3, 3)), min_size=1, max_size=4),
    hint=st.sampled_from([list[str], list[int], list[dict[str, Any]], list[Any], dict[str, int]]),
)
def test_dataframe_conversion_matches_mlflow(column: list[Any], hint: Any) -> None:
    frame = pd.DataFrame({"c": column, "d": column})
    try:
        theirs: Any = ("ok", ml._convert_data_to_type_hint(frame.copy(), hint))
    except mlflow.exceptions.MlflowException:
        theirs = ("rejected",)
    try:
        ours: Any = ("ok", _type_hints.convert_data_to_type_hint(frame.copy(), hint))
    except TypeHintError:
        ours = ("rejected",)
    assert ours == theirs
