"""What a logged folder may hold: links are content, bad links and special files are refused,
and nothing is ever left out silently (log_artifacts, put_tree, log_model)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import modelshelf as mlflow
from modelshelf._shelf import Shelf
from modelshelf.cas import scan_dir
from modelshelf.cas._tree import MAX_PATH_BYTES, MAX_PATH_PART_BYTES
from modelshelf.errors import InvalidPathError, ModelshelfError, UnloggableFileError
from modelshelf.runs import RunsClient
from tests.pyfunc._models import LinModel


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def runs(local_shelf: Shelf) -> RunsClient:
    return RunsClient(local_shelf)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "w.bin").write_bytes(b"\x00\x01weights")
    (root / "config.json").write_text('{"k": 1}')
    return root


def _log(runs: RunsClient, folder: Path, path: str | None = "m") -> tuple[str, Path]:
    run_id = runs.create_run().info.run_id
    runs.log_artifacts(run_id, folder, path)
    out = Path(runs.download_artifacts(run_id, "", str(folder.parent / "out")))
    return run_id, out


def test_symlink_to_a_folder_inside_is_logged_as_its_content(
    runs: RunsClient, folder: Path
) -> None:
    os.symlink("weights", folder / "alias")
    run_id, out = _log(runs, folder)
    got = _files(out / "m")
    assert got["alias/w.bin"] == got["weights/w.bin"] == b"\x00\x01weights"
    assert sorted(got) == ["alias/w.bin", "config.json", "weights/w.bin"]
    tree = runs.locate_artifact(run_id, "m").tree
    assert tree is not None
    linked, real = tree.get("alias/w.bin"), tree.get("weights/w.bin")
    assert linked is not None and real is not None and linked.digest == real.digest


def test_symlink_to_a_file_inside_is_logged_as_its_content(runs: RunsClient, folder: Path) -> None:
    os.symlink("weights/w.bin", folder / "w-link.bin")
    _run_id, out = _log(runs, folder, None)
    assert (out / "w-link.bin").read_bytes() == b"\x00\x01weights"


def test_same_folder_twice_through_links_at_different_depths(
    runs: RunsClient, folder: Path
) -> None:
    (folder / "deep" / "er").mkdir(parents=True)
    os.symlink("../../weights", folder / "deep" / "er" / "w")
    os.symlink("deep", folder / "d2")
    got = _files(_log(runs, folder)[1] / "m")
    assert got["deep/er/w/w.bin"] == got["d2/er/w/w.bin"] == got["weights/w.bin"]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda f: os.symlink("missing.bin", f / "dangling"), "dangling"),
        (lambda f: os.symlink("self", f / "self"), "loop"),
        (lambda f: os.symlink("..", f / "weights" / "up"), "loop"),
        (lambda f: os.symlink(".", f / "here"), "loop"),
        (lambda f: os.symlink(str(f.parent), f / "out"), "outside"),
        (lambda f: os.symlink("/etc/hostname", f / "host"), "outside"),
        (lambda f: os.mkfifo(f / "weights" / "pipe"), "FIFO"),
    ],
    ids=["dangling", "self-loop", "parent-loop", "dot-loop", "escape-dir", "escape-file", "fifo"],
)
def test_bad_entries_are_refused_naming_the_entry_and_nothing_is_logged(
    runs: RunsClient, folder: Path, make: object, words: str
) -> None:
    make(folder)  # type: ignore[operator]
    run_id = runs.create_run().info.run_id
    with pytest.raises(UnloggableFileError, match=words) as err:
        runs.log_artifacts(run_id, folder, "m")
    assert isinstance(err.value, InvalidPathError) and isinstance(err.value, ValueError)
    assert "nothing was logged" in str(err.value)
    assert runs.list_artifacts(run_id) == []
    with pytest.raises(UnloggableFileError):
        runs.shelf.blobs.put_tree(folder)


def test_a_socket_is_refused() -> None:
    # AF_UNIX paths are limited to ~108 bytes, so this folder lives in a short temp dir.
    with tempfile.TemporaryDirectory(prefix="ms-") as short:
        (Path(short) / "f.txt").write_text("x")
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(os.path.join(short, "s"))
            with pytest.raises(UnloggableFileError, match="socket") as err:
                scan_dir(short)
            assert "'s'" in str(err.value)
        finally:
            sock.close()


def test_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x")
    try:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, AttributeError):  # pragma: no cover - needs root / a Unix
        pytest.skip("creating a device node needs root")
    with pytest.raises(UnloggableFileError, match="character device") as err:
        scan_dir(tmp_path)
    assert "'null'" in str(err.value)


def test_a_file_name_that_is_not_utf8_is_refused(runs: RunsClient, tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    try:
        with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as handle:
            handle.write(b"x")
    except OSError:  # pragma: no cover - a file system that insists on UTF-8 names
        pytest.skip("the file system refuses non-UTF-8 names")
    run_id = runs.create_run().info.run_id
    with pytest.raises(InvalidPathError, match="not valid Unicode"):
        runs.log_artifacts(run_id, root)
    assert runs.list_artifacts(run_id) == []


def test_artifact_path_limits_are_checked_before_anything_is_logged(
    runs: RunsClient, folder: Path
) -> None:
    run_id = runs.create_run().info.run_id
    with pytest.raises(InvalidPathError, match=f"limit is {MAX_PATH_BYTES}"):
        runs.log_text(run_id, "x", "a" * 100_000)
    with pytest.raises(InvalidPathError, match=f"allow {MAX_PATH_PART_BYTES}"):
        runs.log_text(run_id, "x", "d/" + "é" * 128)  # 256 bytes of UTF-8 in 128 characters
    # The folder's own paths are short, but under this prefix one of them exceeds the limit.
    prefix = "/".join(["p" * 200] * 5) + "/" + "p" * 7  # 1,012 bytes
    assert len(prefix + "/weights/w.bin") > MAX_PATH_BYTES == len(prefix + "/config.json")
    with pytest.raises(InvalidPathError, match="weights/w.bin"):
        runs.log_artifacts(run_id, folder, prefix)
    local = folder / "weights" / "w.bin"
    with pytest.raises(InvalidPathError):
        runs.log_artifact(run_id, local, "/".join(["p" * 255] * 4))
    assert runs.list_artifacts(run_id) == []
    # The longest allowed paths log and download (the whole run included).
    longest = "/".join(["q" * 255] * 4)[: MAX_PATH_BYTES - 6] + "/e.txt"
    assert len(longest.encode()) == MAX_PATH_BYTES
    runs.log_text(run_id, "edge", longest)
    runs.log_text(run_id, "wide", "é" * 127 + "t")  # 255 bytes: the longest part allowed
    dest = Path(tempfile.mkdtemp(prefix="ms-dl-"))
    try:
        runs.download_artifacts(run_id, "", str(dest))
        assert (dest / longest).read_text() == "edge"
        assert (dest / ("é" * 127 + "t")).read_text() == "wide"
    finally:
        shutil.rmtree(dest)


# ------------------------------------------------------------------------------- log_model
@pytest.fixture
def active_shelf(local_shelf: Shelf) -> Iterator[Shelf]:
    yield local_shelf
    mlflow.end_run()


def test_log_model_keeps_a_linked_folder_of_the_saved_model(
    active_shelf: Shelf, tmp_path: Path
) -> None:
    from modelshelf.models._logging import log_model
    from modelshelf.pyfunc import _save_for_log

    offset = tmp_path / "offset.txt"
    offset.write_text("2.0")

    def save_with_link(path: str, mlflow_model: object) -> None:
        _save_for_log(path, python_model=LinModel(), artifacts={"offset": str(offset)},
                      mlflow_model=mlflow_model)  # fmt: skip
        os.symlink("artifacts", os.path.join(path, "artifacts-alias"))

    info = log_model(save_with_link, name="lin")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 1.0]})
    np.testing.assert_allclose(
        loaded.predict(frame), LinModel().reg.predict(frame.to_numpy()) + 2.0
    )
    out = Path(mlflow.MlflowClient().download_artifacts(info.run_id, "lin", str(tmp_path / "o")))
    assert (out / "artifacts-alias" / "offset.txt").read_text() == "2.0"


def test_pyfunc_log_model_refuses_a_dangling_link_in_its_artifacts(
    active_shelf: Shelf, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "offset.txt").write_text("1.0")
    os.symlink("gone.txt", data / "broken")
    with pytest.raises(UnloggableFileError, match="broken"):
        mlflow.pyfunc.log_model(name="m", python_model=LinModel(), artifacts={"d": str(data)})
    run = mlflow.active_run()
    assert run is None or mlflow.MlflowClient().list_artifacts(run.info.run_id) == []


def test_log_model_refuses_a_bad_name_before_saving(active_shelf: Shelf) -> None:
    for name in ("x" * 300, "../up", "a\ud800"):
        with pytest.raises(InvalidPathError):
            mlflow.pyfunc.log_model(name=name, python_model=LinModel())
    run = mlflow.active_run()
    assert run is None or mlflow.MlflowClient().list_artifacts(run.info.run_id) == []


# ---------------------------------------------------------------------------- Hypothesis
_byte_names = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        min_size=1,
        max_size=30,
    ).map(str.encode)
    | st.binary(min_size=1, max_size=40)
    | st.builds(lambda n: b"n" * n, st.integers(200, 255))
).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b"..") and len(b) < 256)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=st.lists(
        st.tuples(_byte_names, st.sampled_from(["file", "dir", "link"])),
        min_size=1,
        max_size=4,
        unique_by=lambda e: e[0],
    ),
    prefix=st.sampled_from(["", "m", "/".join(["p" * 250] * 3)]),
)
def test_hypothesis_folder_names_are_logged_whole_or_refused(
    runs: RunsClient, entries: list[tuple[bytes, str]], prefix: str
) -> None:
    """Whatever the names, a folder is either stored completely (the download holds exactly
    its files) or refused with a ModelshelfError and nothing logged."""
    work = Path(tempfile.mkdtemp(prefix="ms-hf-"))
    try:
        root = os.fsencode(work / "src")
        os.mkdir(root)
        expected: dict[bytes, bytes] = {}
        first_file: bytes | None = None
        for i, (name, kind) in enumerate(entries):
            path = os.path.join(root, name)
            if kind == "file" or (kind == "link" and first_file is None):
                with open(path, "wb") as handle:
                    handle.write(b"c%d" % i)
                expected[name] = b"c%d" % i
                first_file = first_file or name
            elif kind == "dir":
                os.mkdir(path)
                with open(os.path.join(path, b"f"), "wb") as handle:
                    handle.write(b"d%d" % i)
                expected[name + b"/f"] = b"d%d" % i
            else:
                assert first_file is not None
                os.symlink(first_file, path)
                expected[name] = expected[first_file]
        run_id = runs.create_run().info.run_id
        try:
            runs.log_artifacts(run_id, os.fsdecode(root), prefix or None)
        except ModelshelfError:
            event("refused")
            assert runs.list_artifacts(run_id) == []
            return
        event("logged")
        out = Path(runs.download_artifacts(run_id, "", str(work / "out")))
        base = os.fsencode(out / prefix) if prefix else os.fsencode(out)
        got = {
            os.path.relpath(os.path.join(d, f), base): open(os.path.join(d, f), "rb").read()
            for d, _dirs, files in os.walk(base)
            for f in files
        }
        assert got == expected
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_download_never_writes_or_deletes_through_a_link_in_the_destination(
    runs: RunsClient, tmp_path: Path
) -> None:
    """Downloading into an existing folder replaces its files one by one; a symlink already
    in that folder (``data -> /elsewhere``) must not carry the download, or the removal of a
    folder it replaces, outside the destination."""
    src = tmp_path / "src"
    (src / "data" / "x").mkdir(parents=True)
    (src / "data" / "x" / "w.txt").write_text("new")
    run_id = runs.create_run().info.run_id
    runs.log_artifacts(run_id, src)
    outside = tmp_path / "elsewhere"
    (outside / "x").mkdir(parents=True)
    (outside / "x" / "keep.txt").write_text("keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "other.txt").write_text("other")
    os.symlink(outside, dest / "data")
    with pytest.raises(ModelshelfError, match="symlink"):
        runs.download_artifacts(run_id, "", str(dest))
    assert _files(outside) == {"x/keep.txt": b"keep"}  # nothing written or deleted there
    assert (dest / "data").is_symlink() and (dest / "other.txt").read_text() == "other"
