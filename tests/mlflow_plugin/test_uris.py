"""The ``modelshelf+<URL>`` forms: which shelf, which folder, which endpoint."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow")

from modelshelf.errors import InvalidURIError  # noqa: E402
from modelshelf.mlflow_plugin import shelf_for_uri, split_artifact_uri  # noqa: E402
from modelshelf.mlflow_plugin._uris import storage_options_from_env  # noqa: E402

pytestmark = pytest.mark.interop


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "modelshelf+s3://b/shelf/-/exp/run/artifacts",
            ("modelshelf+s3://b/shelf", "exp/run/artifacts"),
        ),
        ("modelshelf+s3://b/shelf/-/", ("modelshelf+s3://b/shelf", "")),
        ("modelshelf+s3://b/shelf/-", ("modelshelf+s3://b/shelf", "")),
        ("modelshelf+file:///abs/shelf/-/a//b/", ("modelshelf+file:///abs/shelf", "a/b")),
        # MLflow rewrites file:/// to file:/ when it appends a run folder
        ("modelshelf+file:/abs/shelf/-/e/r", ("modelshelf+file:/abs/shelf", "e/r")),
        ("modelshelf+memory://m/-/x/-/y", ("modelshelf+memory://m", "x/-/y")),
    ],
)
def test_artifact_uris_split_at_the_first_separator(uri: str, expected: tuple[str, str]) -> None:
    assert split_artifact_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("modelshelf+s3://b/shelf/exp", "where the shelf ends"),
        ("s3://b/shelf/-/x", "not a modelshelf URI"),
        ("modelshelf+s3://b/shelf/-/../other", "'..'"),
        ("modelshelf+file://relative/shelf/-/x", "absolute path"),
        ("modelshelf+nothing/-/x", "protocol"),
    ],
)
def test_bad_artifact_uris_say_what_to_write(uri: str, match: str) -> None:
    with pytest.raises(InvalidURIError, match=match):
        split_artifact_uri(uri)


def test_one_shelf_per_url_and_local_forms_agree(tmp_path: object) -> None:
    a = shelf_for_uri(f"modelshelf+file://{tmp_path}/shelf")
    assert shelf_for_uri(f"modelshelf+file:{tmp_path}/shelf/-/x") is a
    assert shelf_for_uri(f"modelshelf+file://{tmp_path}/shelf/") is a
    assert shelf_for_uri("modelshelf+memory://one") is not shelf_for_uri("modelshelf+memory://two")


def test_s3_endpoint_comes_from_mlflow_variables_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert storage_options_from_env("s3://b/x") == {"endpoint_url": "http://127.0.0.1:1"}
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:2")
    assert storage_options_from_env("s3://b/x") == {"endpoint_url": "http://127.0.0.1:2"}
    assert storage_options_from_env("gs://b/x") == {}
