"""Only modelshelf.uri parses URIs; Client keeps runs and the registry on one shelf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import modelshelf
from modelshelf.client import Client
from modelshelf.errors import ConfigurationError
from modelshelf.registry import RegistryClient
from modelshelf.runs import RunsClient

SRC = Path(modelshelf.__file__).parent

# Code that takes a URI apart by hand: a scheme test, slicing off a scheme, urlparse.
_PARSING = re.compile(
    r"""startswith\(\s*["'](?:runs|models|file):"""
    r"""|len\(\s*["'](?:runs|models|file):"""
    r"""|\burl(?:parse|split)\("""
)
# Where hand parsing is still allowed, and why. Each entry must still match (no rot).
_ALLOWED = {
    # the shelf URL itself, at the bottom layer (storage cannot import uri), and masking the
    # credentials in any URL before it is shown
    "storage/__init__.py",
    "storage/_redact.py",
    # the MLflow plugin's own `modelshelf+<fsspec URL>` scheme, which wraps a shelf URL
    "mlflow_plugin/_uris.py",
    # to be moved onto modelshelf.uri.parse_uri: saving code paths into a model, and the
    # flavors' local-path fast path (which must not import the uri package's registry)
    "pyfunc/_save.py",
    "flavors/_base.py",
}


def _offenders() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("uri/"):
            continue
        hits = [line.strip() for line in path.read_text().splitlines() if _PARSING.search(line)]
        if hits:
            found[rel] = hits
    return found


def test_no_uri_parsing_outside_uri() -> None:
    found = _offenders()
    assert set(found) - _ALLOWED == set(), {k: v for k, v in found.items() if k not in _ALLOWED}
    assert _ALLOWED <= set(found), f"stale allowances: {_ALLOWED - set(found)}"


def test_the_pattern_catches_hand_parsing() -> None:
    for line in (
        'if model_uri.startswith("runs:/"):',
        'run_id = uri[len("runs:/") :].split("/")[0]',
        "parts = urlparse(text)",
        "if text.startswith('models:'):",
    ):
        assert _PARSING.search(line), line


def test_client_parts_share_one_shelf(tmp_path: Path) -> None:
    client = Client(str(tmp_path / "a"))
    assert isinstance(client.runs, RunsClient) and isinstance(client.registry, RegistryClient)
    assert client.runs.shelf is client.shelf is client.registry.shelf
    same = Client(tracking_uri=str(tmp_path / "a"), registry_uri=str(tmp_path / "a"))
    assert same.shelf.url == client.shelf.url


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tracking_uri": "a", "registry_uri": "b"},
        {"shelf": "a", "registry_uri": "b"},
        {"shelf": "a", "tracking_uri": "b"},
    ],
)
def test_client_refuses_two_shelves(tmp_path: Path, kwargs: dict[str, str]) -> None:
    args = {k: str(tmp_path / v) for k, v in kwargs.items()}
    with pytest.raises(ConfigurationError, match="one shelf"):
        Client(**args)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="one shelf"):
        Client(str(tmp_path / "a"), registry=RegistryClient(str(tmp_path / "b")))


def test_client_runs_on_tracking_uri(tmp_path: Path) -> None:
    client = Client(tracking_uri=str(tmp_path / "t"))
    run_id = client.create_run().info.run_id
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "MLmodel").write_text("flavors: {}\n")
    client.log_artifacts(run_id, str(tmp_path / "m"), "model")
    client.create_registered_model("m")
    mv = client.create_model_version("m", f"runs:/{run_id}/model")
    assert mv.run_id == run_id
    reopened = Client(registry_uri=str(tmp_path / "t"))
    assert reopened.get_model_version("m", 1).digest == mv.digest
    assert reopened.get_run(run_id).info.run_id == run_id


# Part methods a Client does not forward: batch writes the fluent API uses, and gc's marking.
_PART_ONLY = {"ensure_experiment", "log_params", "log_metrics", "set_tags", "live_version_digests"}


def test_client_forwards_every_public_part_method(tmp_path: Path) -> None:
    client = Client(str(tmp_path / "a"))
    for part_name, part in (("runs", client.runs), ("registry", client.registry)):
        for name in dir(type(part)):
            if name.startswith("_") or name in _PART_ONLY or not callable(getattr(part, name)):
                continue
            forwarded = getattr(client, name)
            assert forwarded.__doc__ == getattr(part, name).__doc__, name
            if name != "plan_repair":  # spelled out (its **options defeat the typed table)
                assert forwarded == getattr(part, name), f"{name} is not {part_name}.{name}"
