"""Bad input to runs, artifact paths, URIs and filter strings gets a typed modelshelf error.

Fixed cases for the reported bugs, then Hypothesis: any exception that is not a
``ModelshelfError`` fails the test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelshelf.client import Client
from modelshelf.errors import (
    InvalidInputError,
    InvalidNameError,
    InvalidPathError,
    InvalidURIError,
    ModelshelfError,
)
from modelshelf.registry._api import parse_models_uri
from modelshelf.runs import _fluent, clean_artifact_path
from modelshelf.uri import parse_uri

RUN = "0123456789abcdef0123456789abcdef"
UNHASHABLE: list[Any] = [["a"], {"a": 1}, {1, 2}]
NOT_TEXT: list[Any] = [None, 3, 1.5, b"key", ("t",), *UNHASHABLE]
SURROGATES = ["\ud800", "a\udfffb", "x\udcff"]


@pytest.fixture(scope="module")
def shelf_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ms-inputs-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def client(shelf_dir: Path) -> Client:
    """One shelf for the module (Hypothesis reuses it): a run with data, a registered version."""
    client = Client(str(shelf_dir / "shelf"))
    run_id = client.create_run(experiment_name="e", run_name="seed").info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.25, step=1)
    client.set_tag(run_id, "team", "ml")
    model_dir = shelf_dir / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {python_function: {loader_module: x}}\n")
    client.log_artifacts(run_id, model_dir, "model")
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)
    return client


@pytest.fixture(scope="module")
def run_id(client: Client) -> str:
    return client.create_run(experiment_name="e").info.run_id


# ------------------------------------------------------------------------- reported cases
@pytest.mark.parametrize("key", NOT_TEXT + SURROGATES + ["", "a/../b", "/abs"], ids=repr)
def test_param_metric_and_tag_keys_must_be_names(client: Client, run_id: str, key: Any) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: client.log_param(run_id, key, 1),
        lambda: client.log_metric(run_id, key, 1.0),
        lambda: client.set_tag(run_id, key, "v"),
        lambda: client.delete_tag(run_id, key),
        lambda: client.log_batch(run_id, params=[SimpleNamespace(key=key, value=1)]),
        lambda: client.log_batch(run_id, metrics=[SimpleNamespace(key=key, value=1.0)]),
        lambda: client.log_batch(run_id, tags=[SimpleNamespace(key=key, value="v")]),
        lambda: client.create_run(experiment_name="e", tags={_hashable(key): "v"}),
        lambda: client.create_experiment("exp-with-bad-tag", tags={_hashable(key): "v"}),
    ]
    for call in calls:
        with pytest.raises(InvalidNameError):
            call()
    # Nothing half-written: the run holds none of it.
    data = client.get_run(run_id).data
    assert not data.params and not data.metrics and "v" not in data.tags.values()


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, (list, dict, set)) else key


@pytest.mark.parametrize("value", SURROGATES, ids=repr)
def test_values_that_are_not_valid_unicode(client: Client, run_id: str, value: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: client.log_param(run_id, "p", value),
        lambda: client.set_tag(run_id, "t", value),
        lambda: client.log_batch(run_id, params=[SimpleNamespace(key="p", value=value)]),
        lambda: client.create_run(experiment_name="e", run_name=value),
        lambda: client.create_run(experiment_name="e", tags={"t": value}),
        lambda: client.log_text(run_id, value, "notes.txt"),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="not valid Unicode"):
            call()
    for bad_name in (
        lambda: client.create_run(experiment_name=value),
        lambda: client.create_experiment(value),
        lambda: client.get_experiment_by_name(value),
        lambda: client.search_runs(experiment_names=[value]),
    ):
        with pytest.raises(InvalidNameError, match="not valid Unicode"):
            bad_name()


@pytest.mark.parametrize("name", NOT_TEXT[1:] + ["", "   "], ids=repr)
def test_run_and_experiment_names_must_be_strings(client: Client, name: Any) -> None:
    if name not in ("", "   "):
        with pytest.raises(InvalidNameError):
            client.create_run(experiment_name="e", run_name=name)
    for call in (
        # create_run(experiment_name="") means the default experiment, as in MLflow.
        lambda: client.create_run(experiment_name=name or None or [name]),
        lambda: client.create_experiment(name),
        lambda: client.get_experiment_by_name(name),
        lambda: _fluent_set_experiment(client, name),
    ):
        with pytest.raises(InvalidNameError):
            call()


def _fluent_set_experiment(client: Client, name: Any) -> None:
    _fluent.set_tracking_uri(client.shelf.url)
    try:
        _fluent.set_experiment(name)
    finally:
        _fluent._reset()


@pytest.mark.parametrize(
    ("value", "step"),
    [("abc", 0), ([1], 0), (None, 0), ({"a": 1}, 0), (1.0, "x"), (1.0, [1]), (1.0, 1e400)],
    ids=repr,
)
def test_metric_values_steps_and_times_must_be_numbers(
    client: Client, run_id: str, value: Any, step: Any
) -> None:
    with pytest.raises(InvalidInputError, match="metric 'm'"):
        client.log_metric(run_id, "m", value, step=step)
    with pytest.raises(InvalidInputError, match="metric 'm'"):
        client.log_batch(run_id, metrics=[SimpleNamespace(key="m", value=value, step=step)])
    with pytest.raises(InvalidInputError, match="metric 'm'"):
        client.log_metric(run_id, "m", 1.0, timestamp="soon")
    assert "m" not in client.get_run(run_id).data.metrics


def test_log_text_and_log_dict_refuse_what_they_cannot_write(client: Client, run_id: str) -> None:
    with pytest.raises(InvalidInputError, match="needs a str"):
        client.log_text(run_id, b"bytes", "a.txt")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="log_dict takes plain"):
        client.log_dict(run_id, {"a": object()}, "d.json")
    with pytest.raises(InvalidInputError, match="log_dict takes plain"):
        client.log_dict(run_id, {"a": object()}, "d.yaml")
    with pytest.raises(InvalidPathError):
        client.log_dict(run_id, {"a": 1}, ["d.json"])  # type: ignore[arg-type]
    assert client.list_artifacts(run_id) == []


def test_a_long_artifact_path_is_refused_so_whole_run_downloads_keep_working(
    client: Client, tmp_path: Path
) -> None:
    run = client.create_run(experiment_name="e").info.run_id
    client.log_text(run, "kept", "ok.txt")
    with pytest.raises(InvalidPathError, match="limit is 1024"):
        client.log_text(run, "x", "a" * 100_000)
    with pytest.raises(InvalidPathError, match="allow 255"):
        client.log_text(run, "x", "b" * 256)
    out = Path(client.download_artifacts(run, "", str(tmp_path / "dl")))
    assert sorted(p.name for p in out.iterdir()) == ["ok.txt"]


# ---------------------------------------------------------------------------- Hypothesis
_fast = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_path_text = st.text(
    alphabet=st.sampled_from(["a", "/", ".", "\\", "\x00", ":", "é", "\ud800", " ", "~", "%"])
    | st.characters(),
    max_size=40,
) | st.builds(lambda a, n: a * n, st.sampled_from(["x", "é/", "y/"]), st.integers(100, 700))


def _only_typed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ModelshelfError:
        return None


def test_hypothesis_artifact_paths(client: Client) -> None:
    run_id = client.create_run(experiment_name="e").info.run_id
    dest = Path(tempfile.mkdtemp(prefix="ms-h-"))

    @_fast
    @given(path=_path_text)
    def log_one(path: str) -> None:
        try:
            client.log_text(run_id, "x", path)
        except ModelshelfError:
            _only_typed(client.list_artifacts, run_id, path)
            _only_typed(client.download_artifacts, run_id, path, str(dest / "miss"))
            _only_typed(parse_uri, f"runs:/{run_id}/{path}")
            return
        # Accepted: it resolves and downloads.
        clean = clean_artifact_path(path)
        assert parse_uri(f"runs:/{run_id}/{path}").path == clean
        assert Path(client.download_artifacts(run_id, clean, str(dest / "one"))).read_text() == "x"

    try:
        log_one()
        # Every path accepted above downloads with the whole run (no ENAMETOOLONG).
        client.download_artifacts(run_id, "", str(dest / "all"))
    finally:
        shutil.rmtree(dest, ignore_errors=True)


_uri_text = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.sampled_from(
            [
                "models:/",
                "models://",
                "models:",
                "runs:/",
                "runs:///",
                "sha256:",
                "file://",
                "s3://",
                "memory://",
                "dbfs:/",
                "C:",
                "x:",
                "models:/m/",
                "models:/m@",
            ]  # fmt: skip
        ),
        st.text(max_size=50),
    ),
)


@settings(max_examples=400, deadline=None)
@given(_uri_text)
def test_hypothesis_uri_parsers(text: str) -> None:
    _only_typed(parse_uri, text)
    _only_typed(parse_models_uri, text)


@pytest.mark.parametrize("uri", ["models:/m/²", "models:/m/١٢", "models:/m/0", "models:/m/-1"])
def test_models_uri_versions_are_ascii_digits(uri: str) -> None:
    with pytest.raises(InvalidURIError):
        parse_uri(uri)
    with pytest.raises(InvalidURIError):  # the deprecated alias is the same parser
        parse_models_uri(uri)


_filter_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "metrics.rmse",
                "params.alpha",
                "tags.team",
                "attributes.status",
                "run_name",
                "name",
                "version_number",
                "run_id",
                "tags.`a b`",
                "=",
                "!=",
                "<",
                ">=",
                "LIKE",
                "ILIKE",
                "IN",
                "NOT IN",
                "and",
                "AND",
                "OR",
                "(",
                ")",
                ",",
                "'x'",
                '"y"',
                "0.5",
                "1e400",
                "-3",
                "'%'",
                "NULL",
                "IS",
                "`",
                "'",
                '"',
                "''",
                "\\",
                "\ud800",
            ]  # fmt: skip
        ),
        max_size=10,
    ).map(" ".join),
)


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_filter_text, order=st.lists(_filter_text, max_size=2))
def test_hypothesis_filter_strings(client: Client, text: str, order: list[str]) -> None:
    _only_typed(client.search_runs, filter_string=text)
    _only_typed(client.search_runs, order_by=order)
    _only_typed(client.search_model_versions, filter_string=text)
    _only_typed(client.search_model_versions, order_by=order)
    _only_typed(client.search_registered_models, filter_string=text)


def test_search_runs_arguments(client: Client) -> None:
    with pytest.raises(InvalidInputError, match="max_results"):
        client.search_runs(max_results="ten")  # type: ignore[arg-type]
    assert len(client.search_runs(experiment_names=["e"], max_results=1)) == 1


def test_damaged_records_are_malformed_metadata(tmp_path: Path) -> None:
    from modelshelf.cas import Tree
    from modelshelf.errors import MalformedMetadataError

    client = Client(str(tmp_path / "shelf"))
    run_id = client.create_run().info.run_id
    meta = tmp_path / "shelf" / "runs" / run_id / "meta.json"
    meta.chmod(0o644)
    meta.write_bytes(b"\xff{not json")
    with pytest.raises(MalformedMetadataError, match="run record"):
        Client(str(tmp_path / "shelf")).get_run(run_id)
    with pytest.raises(MalformedMetadataError, match="nested too deeply"):
        Tree.from_bytes(b"[" * 100_000)


@pytest.mark.parametrize("text", ["²", "version_number = ²", "name = 'a' AND -²"])
def test_filters_with_non_ascii_digits_are_invalid_input(client: Client, text: str) -> None:
    # Found by test_hypothesis_filter_strings: '²'.isdigit() is True, but it is no number.
    with pytest.raises(InvalidInputError):
        client.search_model_versions(filter_string=text)
    with pytest.raises(InvalidInputError):
        client.search_runs(filter_string=text)


def test_start_time_and_local_paths_must_have_the_right_type(client: Client, run_id: str) -> None:
    for bad in ("noon", [1], float("nan")):
        with pytest.raises(InvalidInputError, match="start_time"):
            client.create_run(experiment_name="e", start_time=bad)  # type: ignore[arg-type]
    assert client.create_run(experiment_name="e", start_time=1.7e12).info.start_time == 1.7e12
    with pytest.raises(InvalidInputError, match="local path"):
        client.log_artifact(run_id, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="local path"):
        client.log_artifacts(run_id, 3)  # type: ignore[arg-type]
