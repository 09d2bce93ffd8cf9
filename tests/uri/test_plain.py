"""Plain paths and fsspec folder URLs: read with fsspec, not through the shelf."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from modelshelf import artifacts
from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidInputError, InvalidURIError, ObjectNotFoundError
from modelshelf.runs import FileInfo
from modelshelf.uri import download_uri, local_model_dir, resolve_uri


def test_local_paths(tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "MLmodel").write_text("m")
    (src / "sub" / "w.bin").write_bytes(b"w")
    r = resolve_uri(str(src))
    assert (r.scheme, r.kind, r.digest, r.location) == ("local", "tree", None, str(src))
    assert resolve_uri(src.as_uri()).location == str(src)
    assert resolve_uri(str(src / "MLmodel")).kind == "blob"
    out = download_uri(str(src), tmp_path / "dl")
    assert out == tmp_path / "dl" / "model" and (out / "sub" / "w.bin").read_bytes() == b"w"
    assert local_model_dir(str(src)) == src
    assert artifacts.list_artifacts(str(src)) == [
        FileInfo("MLmodel", False, 1),
        FileInfo("sub", True, None),
    ]
    assert artifacts.load_text(str(src / "MLmodel")) == "m"
    with pytest.raises(ObjectNotFoundError, match="no such file or folder"):
        resolve_uri(str(tmp_path / "missing"))
    with pytest.raises(InvalidURIError, match="names a folder"):
        artifacts.load_text(str(src))


def test_fsspec_folder_url(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe({"/plain-src/model/MLmodel": b"m", "/plain-src/model/data/x.json": b'{"a": 2}'})
    r = resolve_uri("memory://plain-src/model")
    assert (r.scheme, r.kind) == ("fsspec", "tree")
    out = download_uri("memory://plain-src/model", tmp_path / "dl")
    assert out == tmp_path / "dl" / "model"
    assert (out / "data" / "x.json").read_bytes() == b'{"a": 2}'
    assert artifacts.load_dict("memory://plain-src/model/data/x.json") == {"a": 2}
    with pytest.raises(ObjectNotFoundError):
        resolve_uri("memory://plain-src/nothing")


def test_artifacts_api_arguments(local_shelf: Shelf) -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        artifacts.download_artifacts("runs:/x", run_id="y")
    with pytest.raises(InvalidInputError, match="pass artifact_uri or run_id"):
        artifacts.download_artifacts()
    with pytest.raises(InvalidURIError):
        artifacts.download_artifacts("runs:/nope/x")
