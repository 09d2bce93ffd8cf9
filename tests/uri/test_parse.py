"""parse_uri: every URI form, and malformed ones (pure, no storage)."""

from __future__ import annotations

import pytest

from modelshelf.errors import InvalidURIError
from modelshelf.uri import parse_uri

RUN = "0123456789abcdef0123456789abcdef"
HEX = "ab" * 32


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "models:/churn/3",
            dict(scheme="models", name="churn", selector="version", version=3, path=""),
        ),
        ("models:/churn/3/sub/f.pkl", dict(name="churn", version=3, path="sub/f.pkl")),
        ("models:/churn@champion", dict(selector="alias", alias="champion", path="")),
        ("models:/churn@champion/MLmodel", dict(alias="champion", path="MLmodel")),
        ("models:/a@b@prod", dict(name="a@b", alias="prod")),
        ("models:/churn/latest", dict(selector="latest")),
        ("models:/churn/LATEST/x", dict(selector="latest", path="x")),
        ("models:/churn@latest", dict(selector="latest")),
        ("models:/churn/production", dict(selector="stage", stage="Production")),
        ("models:/churn/None", dict(selector="stage", stage="None")),
        ("models:///churn/2", dict(name="churn", version=2)),
        (f"models:/m-{RUN}", dict(selector="logged", model_id=f"m-{RUN}")),
        (f"runs:/{RUN}/model", dict(scheme="runs", run_id=RUN, path="model")),
        (f"runs:/{RUN}/model/sub/", dict(run_id=RUN, path="model/sub")),
        (f"runs:/{RUN}", dict(run_id=RUN, path="")),
        (f"runs:///{RUN}/x", dict(run_id=RUN, path="x")),
        (f"sha256:{HEX}", dict(scheme="sha256", path="")),
        (f"sha256:{HEX}/a/b", dict(scheme="sha256", path="a/b")),
        ("/tmp/model", dict(scheme="local", location="/tmp/model")),
        ("relative/model", dict(scheme="local", location="relative/model")),
        ("file:///tmp/model", dict(scheme="local", location="/tmp/model")),
        ("file://localhost/tmp/m", dict(scheme="local", location="/tmp/m")),
        ("s3://bucket/path/model", dict(scheme="fsspec", location="s3://bucket/path/model")),
        ("memory://x/y", dict(scheme="fsspec")),
    ],
)
def test_parse(uri: str, expected: dict[str, object]) -> None:
    parsed = parse_uri(uri)
    for key, value in expected.items():
        assert getattr(parsed, key) == value, key
    if parsed.scheme == "sha256":
        assert str(parsed.digest) == f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/", "not a proper models:/ URI"),
        ("models:/churn", "names no version"),
        ("models:/churn/", "not a proper"),
        ("models:/@alias", "not a proper"),
        ("models:/churn@", "not a proper"),
        ("models:/churn/0", "start at 1"),
        ("models:/churn/Prod", "not a version number, 'latest' or a stage"),
        ("models:/churn/3/../../x", "escape"),
        ("models:/churn@a//x", "absolute"),
        ("models://profile@databricks/churn/1", "not supported"),
        ("runs:/", "names no run"),
        ("runs:/not-a-run/model", "not a run id"),
        (f"runs:/{RUN}/../other/x", "escape"),
        (f"runs:/{RUN}/a/./b", "escape"),
        (f"runs:/{RUN}/a\\b", "backslash"),
        ("runs:x", "not a runs:/ URI"),
        ("sha256:1234", "not a digest URI"),
        (f"sha256:{HEX.upper()}", "not a digest URI"),
        (f"sha256:{HEX}/../x", "escape"),
        ("mlflow-artifacts:/x", "MLflow server"),
        ("dbfs:/x", "MLflow server"),
        ("nosuchscheme://x/y", "no filesystem"),
        ("weird:thing", "not a URI modelshelf resolves"),
        ("a\x00b", "NUL"),
        ("", "not a model or artifact URI"),
    ],
)
def test_malformed(uri: str, message: str) -> None:
    with pytest.raises(InvalidURIError, match=message):
        parse_uri(uri)
