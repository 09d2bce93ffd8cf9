"""The local cache cannot lie: attacks on cached files, folders, memos and modes.

Each test edits the cache the way a user, a tool or another process could (in place with the
mtime put back, by replacing a file, by adding one, by rewriting a memo, by chmod), then loads
the model again and checks that the predictions and bytes are those that were verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

import modelshelf  # noqa: E402
from modelshelf._shelf import Shelf  # noqa: E402
from modelshelf.errors import ConfigurationError  # noqa: E402
from modelshelf.uri import download_uri, local_model_dir, resolve_uri  # noqa: E402

X = np.arange(20, dtype=float).reshape(10, 2)


class Models:
    """Registered model ``m``: version 1 predicts ``a``, version 2 predicts ``b``."""

    def __init__(self, shelf: Shelf) -> None:
        from sklearn.linear_model import LinearRegression

        self.shelf = shelf
        first = LinearRegression().fit(X, X[:, 0])
        second = LinearRegression().fit(X, 3 * X[:, 1] + 1)
        with modelshelf.start_run():
            modelshelf.sklearn.log_model(first, name="a", registered_model_name="m")
            modelshelf.sklearn.log_model(second, name="b", registered_model_name="m")
        self.a = first.predict(X)
        self.b = second.predict(X)
        self.digest = {v: resolve_uri(f"models:/m/{v}").digest for v in (1, 2)}

    def predict(self, uri: str) -> Any:
        return modelshelf.pyfunc.load_model(uri).predict(X)

    def memo_path(self, uri: str) -> Path:
        key = hashlib.sha256(f"{self.shelf.url}\n{uri}".encode()).hexdigest()
        return self.shelf.blobs.cache.root / "resolved" / key[:2] / f"{key}.json"


@pytest.fixture
def models(local_shelf: Shelf) -> Models:
    return Models(local_shelf)


def _pickle(folder: Path) -> Path:
    """The serialized model in a model folder (``model.skops`` or ``model.pkl``)."""
    (found,) = [p for p in folder.iterdir() if p.name.startswith("model.")]
    return found


def edit_in_place(path: Path, data: bytes) -> None:
    """Overwrite ``path``'s bytes in place (same inode, same size), then put back its mode and
    its mtime, as ``cp -p`` or a careless tool would."""
    st = os.stat(path)
    assert len(data) == st.st_size
    os.chmod(path, 0o600)
    with open(path, "r+b") as handle:
        handle.write(data)
    os.chmod(path, stat.S_IMODE(st.st_mode))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


def _other_pickle(models: Models, size: int) -> bytes:
    """Version 2's pickle: another model of the same shape, hence the same size."""
    data = _pickle(local_model_dir("models:/m/2")).read_bytes()
    assert len(data) == size
    return data


def test_in_place_edit_with_mtime_put_back_never_reaches_predict(models: Models) -> None:
    folder = local_model_dir("models:/m/1")
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    good = _pickle(folder).read_bytes()
    edit_in_place(_pickle(folder), _other_pickle(models, len(good)))

    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    assert _pickle(local_model_dir("models:/m/1")).read_bytes() == good
    # The edited inode was also the cached blob: that is caught too, whoever reads it.
    entry = resolve_uri(f"models:/m/1/{_pickle(folder).name}")
    assert entry.digest is not None
    assert models.shelf.blobs.get(entry.digest) == good


def test_replaced_cached_file_is_not_used(models: Models) -> None:
    folder = local_model_dir("models:/m/1")
    good = _pickle(folder).read_bytes()
    other = _other_pickle(models, len(good))
    tmp = folder / "replacement.tmp"
    tmp.write_bytes(other)
    os.replace(tmp, _pickle(folder))
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    assert _pickle(local_model_dir("models:/m/1")).read_bytes() == good


def test_file_added_to_a_cached_folder_is_not_used(models: Models) -> None:
    folder = local_model_dir("models:/m/1")
    names = sorted(p.name for p in folder.iterdir())
    os.chmod(folder, 0o700)
    (folder / "sitecustomize.py").write_text("raise SystemExit('injected')\n")
    os.chmod(folder, stat.S_IMODE(os.stat(folder).st_mode))
    again = local_model_dir("models:/m/1")
    assert sorted(p.name for p in again.iterdir()) == names
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)


def test_edit_through_a_downloaded_copy_does_not_poison_the_cache(
    models: Models, tmp_path: Path
) -> None:
    """Downloads are hard links to cached blobs: editing one must not change what the cache
    serves afterwards (the edit changes the ctime, which the memo checks)."""
    good = _pickle(local_model_dir("models:/m/1")).read_bytes()
    out = download_uri("models:/m/1", tmp_path / "dl")
    edit_in_place(_pickle(out), _other_pickle(models, len(good)))
    entry = resolve_uri(f"models:/m/1/{_pickle(out).name}")
    assert entry.digest is not None
    assert models.shelf.blobs.get(entry.digest) == good
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)


def _rewrite_memo(path: Path, change: dict[str, Any]) -> None:
    record = json.loads(path.read_text())
    record.update(change)
    os.chmod(path, 0o600)
    path.write_text(json.dumps(record, sort_keys=True))


def test_rewritten_memo_cannot_redirect_a_version(models: Models) -> None:
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    np.testing.assert_allclose(models.predict("models:/m/2"), models.b)
    memo = models.memo_path("models:/m/2")
    assert memo.exists()
    _rewrite_memo(memo, {"digest": str(models.digest[1])})
    np.testing.assert_allclose(models.predict("models:/m/2"), models.b)


def test_memo_copied_from_another_uri_cannot_redirect(models: Models) -> None:
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    np.testing.assert_allclose(models.predict("models:/m/2"), models.b)
    one, two = models.memo_path("models:/m/1"), models.memo_path("models:/m/2")
    os.chmod(two, 0o600)
    two.write_bytes(one.read_bytes())
    np.testing.assert_allclose(models.predict("models:/m/2"), models.b)


def test_alias_always_asks_the_registry_whatever_its_memo_says(models: Models) -> None:
    client = modelshelf.MlflowClient()
    client.set_registered_model_alias("m", "champion", 2)
    np.testing.assert_allclose(models.predict("models:/m@champion"), models.b)
    memo = models.memo_path("models:/m@champion")
    _rewrite_memo(memo, {"digest": str(models.digest[1]), "immutable": True})
    np.testing.assert_allclose(models.predict("models:/m@champion"), models.b)
    client.set_registered_model_alias("m", "champion", 1)
    np.testing.assert_allclose(models.predict("models:/m@champion"), models.a)


def test_chmod_tricks_are_undone(models: Models) -> None:
    folder = local_model_dir("models:/m/1")
    os.chmod(folder, 0o777)
    os.chmod(_pickle(folder), 0o666)
    again = local_model_dir("models:/m/1")
    assert stat.S_IMODE(os.stat(again).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(_pickle(again)).st_mode) == 0o400
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0, 0o022], indirect=True)
def test_cache_is_private_whatever_the_umask(
    umask: int, models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh-cache"
    monkeypatch.setenv("MODELSHELF_CACHE_DIR", str(fresh))
    shelf = Shelf(models.shelf.url)
    modelshelf.set_shelf(shelf)
    modelshelf.MlflowClient().set_registered_model_alias("m", "champion", 2)
    np.testing.assert_allclose(models.predict("models:/m@champion"), models.b)
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    local_model_dir(f"models:/m/1/{_pickle(local_model_dir('models:/m/1')).name}")
    download_uri("models:/m/2", tmp_path / "dl")
    seen = 0
    for folder, dirs, files in os.walk(fresh):
        for name in dirs:
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            assert mode == 0o700, (os.path.join(folder, name), oct(mode))
        for name in files:
            mode = stat.S_IMODE(os.lstat(os.path.join(folder, name)).st_mode)
            assert mode in (0o400, 0o500, 0o600), (os.path.join(folder, name), oct(mode))
            seen += 1
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
    assert seen > 10


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_cache_of_another_user_is_refused(
    models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = tmp_path / "foreign-cache"
    foreign.mkdir()
    os.chown(foreign, 65534, 65534)
    monkeypatch.setenv("MODELSHELF_CACHE_DIR", str(foreign))
    modelshelf.set_shelf(Shelf(models.shelf.url))
    with pytest.raises(ConfigurationError, match="belongs to user id 65534"):
        local_model_dir("models:/m/1")


# ------------------------------------------------------------------------ any edit at all
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FILES = {
    "a.bin": os.urandom(4096),
    "sub/b.txt": b"hello\n" * 50,
    "sub/deep/c.json": b'{"k": [1, 2, 3]}',
}
ATTACKS = ["edit", "edit-keep-mtime", "replace", "append", "truncate", "extra", "extra-dir"]
ATTACKS += ["symlink", "chmod", "remove", "hardlink-other"]


def _tree_files(root: Path) -> dict[str, bytes]:
    out = {}
    for p in root.rglob("*"):
        assert not p.is_symlink(), p
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _attack(folder: Path, attack: str, rel: str, offset: int, byte: int, elsewhere: Path) -> None:
    path = folder / rel
    data = path.read_bytes()
    changed = bytearray(data)
    changed[offset % len(data)] ^= byte or 1
    for d in (folder, *path.relative_to(folder).parents):
        os.chmod(folder / d, 0o700)
    if attack.startswith("edit"):
        st = os.stat(path)
        os.chmod(path, 0o600)
        with open(path, "r+b") as handle:
            handle.write(bytes(changed))
        os.chmod(path, stat.S_IMODE(st.st_mode))
        if attack == "edit-keep-mtime":
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif attack == "replace":
        (path.parent / "new").write_bytes(bytes(changed))
        os.replace(path.parent / "new", path)
    elif attack == "append":
        os.chmod(path, 0o600)
        with open(path, "ab") as handle:
            handle.write(b"x")
    elif attack == "truncate":
        os.chmod(path, 0o600)
        os.truncate(path, len(data) // 2)
    elif attack == "extra":
        (path.parent / "extra.py").write_text("import os\n")
    elif attack == "extra-dir":
        (path.parent / "more").mkdir()
    elif attack == "symlink":
        target = elsewhere / "target"
        target.write_bytes(bytes(changed))
        path.unlink()
        path.symlink_to(target)
    elif attack == "chmod":
        os.chmod(path, 0o666)
        os.chmod(path.parent, 0o777)
    elif attack == "remove":
        path.unlink()
    elif attack == "hardlink-other":
        # Another verified cache file (a different blob) linked in under this name.
        other = next(p for p in folder.rglob("*") if p.is_file() and p != path)
        path.unlink()
        os.link(other, path)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    attack=st.sampled_from(ATTACKS),
    rel=st.sampled_from(sorted(FILES)),
    offset=st.integers(0, 1 << 20),
    byte=st.integers(0, 255),
)
def test_no_change_to_a_cached_folder_survives_the_next_load(
    local_shelf: Shelf, tmp_path: Path, attack: str, rel: str, offset: int, byte: int
) -> None:
    src = tmp_path / "src"
    if not src.exists():
        for name, data in FILES.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(data)
    uri = f"sha256:{local_shelf.blobs.put_tree(src).hex}"
    folder = local_model_dir(uri, local_shelf)
    assert _tree_files(folder) == FILES
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    _attack(folder, attack, rel, offset, byte, elsewhere)
    again = local_model_dir(uri, local_shelf)
    assert _tree_files(again) == FILES
    modes = {stat.S_IMODE(os.lstat(p).st_mode) for p in again.rglob("*") if p.is_file()}
    assert modes == {0o400}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    change=st.dictionaries(
        st.sampled_from(["digest", "immutable", "kind", "name", "uri", "shelf", "mac", "v"]),
        st.one_of(
            st.sampled_from(["d1", "d2", "tree", "blob", "models:/m/1", "models:/m/2"]),
            st.booleans(),
            st.text(max_size=8),
            st.none(),
        ),
        min_size=1,
    )
)
def test_no_rewrite_of_a_memo_redirects_a_version(models: Models, change: dict[str, Any]) -> None:
    target = local_model_dir("models:/m/2")
    assert target.name == models.digest[2].hex
    names = {"d1": str(models.digest[1]), "d2": str(models.digest[2])}
    change = {k: names.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    memo = models.memo_path("models:/m/2")
    if memo.exists():
        _rewrite_memo(memo, change)
    assert local_model_dir("models:/m/2") == target
    assert _pickle(target).read_bytes() == _pickle(local_model_dir("models:/m/2")).read_bytes()


def test_folder_or_symlink_in_place_of_a_cached_blob_is_not_used(
    models: Models, tmp_path: Path
) -> None:
    folder = local_model_dir("models:/m/1")
    good = _pickle(folder).read_bytes()
    entry = resolve_uri(f"models:/m/1/{_pickle(folder).name}")
    assert entry.digest is not None
    blob = models.shelf.blobs.cache.path(entry.digest)
    blob.unlink()
    blob.mkdir()
    assert models.shelf.blobs.get(entry.digest) == good
    blob.unlink()
    (tmp_path / "evil").write_bytes(_other_pickle(models, len(good)))
    blob.symlink_to(tmp_path / "evil")
    assert models.shelf.blobs.get(entry.digest) == good
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
