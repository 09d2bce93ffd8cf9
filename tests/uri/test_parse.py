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
        ("models:/churn/007", dict(selector="version", version=7)),
        ("MODELS:/churn/Staging", dict(selector="stage", stage="Staging")),
        ("models:/churn/ARCHIVED", dict(selector="stage", stage="Archived")),
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
        ("models://profile/churn/1", "not supported"),
        ("models://churn/1", "not supported"),
        ("models:/churn/00", "start at 1"),
        ("models:/churn/Prod", "not a version number"),
        ("models:/churn/\u00b2", "not a version number"),
        (f"runs://{RUN}/model", "profile or host"),
        ("runs://profile@databricks/x", "profile or host"),
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


# The forms MLflow's own parser (mlflow/store/artifact/utils/models.py) reads, and what
# modelshelf makes of each: same name/version/alias/stage, or a typed error where MLflow's
# answer names something a shelf cannot hold (another server's registry, a stage MLflow
# would refuse at lookup, version 0 that can never exist).
_PARITY = [
    ("models:/churn/3", "same"),
    ("models:/churn/007", "same"),
    ("models:///churn/3", "same"),
    ("models:/churn@champion", "same"),
    ("models:/a@b@prod", "same"),
    ("models:/churn/latest", "same"),
    ("models:/churn/LaTeSt", "same"),
    ("models:/churn/Production", "same"),
    ("models:/churn/production", "same"),
    (f"models:/m-{RUN}", "same"),
    ("models:/churn/00", "refused: version 0 never exists (MLflow fails at lookup)"),
    ("models:/churn/Prod", "refused: not a stage (MLflow fails at lookup)"),
    ("models://profile/churn/1", "refused: names a Databricks profile's registry"),
    ("models://churn/1", "refused: names a Databricks profile's registry"),
    ("models:/@champion", "refused: a model needs a name"),
]


@pytest.mark.interop
@pytest.mark.parametrize(("uri", "outcome"), _PARITY)
def test_models_uri_parity_with_mlflow(uri: str, outcome: str) -> None:
    utils = pytest.importorskip("mlflow.store.artifact.utils.models")
    theirs = utils._parse_model_uri(uri)  # MLflow accepts every form in the table
    if outcome != "same":
        with pytest.raises(InvalidURIError):
            parse_uri(uri)
        return
    ours = parse_uri(uri)
    assert ours.model_id == theirs.model_id
    assert ours.name == theirs.name
    assert ours.version == (int(theirs.version) if theirs.version is not None else None)
    assert ours.alias == theirs.alias
    if theirs.stage is None:
        assert ours.stage is None
    else:  # MLflow matches stages case-insensitively at lookup; we canonicalise here
        assert ours.stage is not None and ours.stage.lower() == theirs.stage.lower()


@pytest.mark.interop
@pytest.mark.parametrize(
    "uri",
    ["models:/", "models:/churn/", "models:/churn@", "runs:/", "models:/a/1/c/d"],
)
def test_mlflow_refuses_what_we_refuse(uri: str) -> None:
    """Forms both parsers refuse (MLflow has no sub-paths: a/1/c/d is ours only)."""
    utils = pytest.importorskip("mlflow.store.artifact.utils.models")
    if uri.startswith("models:/a/1/"):
        assert parse_uri(uri).path == "c/d"
    else:
        with pytest.raises(InvalidURIError):
            parse_uri(uri)
    with pytest.raises(Exception, match="Not a proper"):
        utils._parse_model_uri(uri)


def test_deprecated_aliases_are_the_one_parser() -> None:
    from modelshelf.registry import parse_models_uri
    from modelshelf.runs import parse_runs_uri

    assert parse_models_uri("models:/churn/007/sub") == ("churn", "version", "7", "sub")
    assert parse_models_uri("models:/churn/production") == ("churn", "stage", "Production", "")
    assert parse_models_uri("models:/churn@champion") == ("churn", "alias", "champion", "")
    assert parse_runs_uri(f"runs:/{RUN}/model") == (RUN, "model")
    for bad in ("models://m/1", "models:/m/Prod", "models:/m/00", f"models:/m-{RUN}"):
        with pytest.raises(InvalidURIError):
            parse_models_uri(bad)
