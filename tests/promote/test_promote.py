"""Promotion between shelves: same digests, only missing blobs move, provenance recorded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import Shelf, reset_shelf
from modelshelf.cas import Digest, key_to_digest
from modelshelf.client import Client
from modelshelf.errors import IntegrityError, InvalidInputError, VersionNotFoundError
from modelshelf.storage import Storage
from modelshelf.uri import download_uri
from tests._servers import ShelfFactory, backend_param

PAIRS = [
    pytest.param(("memory", "local"), id="memory-local"),
    pytest.param(("local", "local"), id="local-local"),
    pytest.param(("local", "moto"), id="local-moto", marks=backend_param("moto").marks),
]


@pytest.fixture(autouse=True)
def _no_current_shelf() -> Iterator[None]:
    reset_shelf()
    yield
    reset_shelf()


class UploadCounter:
    """Counts bytes and keys written under ``objects/`` through a storage."""

    def __init__(self, storage: Storage) -> None:
        self.keys: list[str] = []
        self.bytes = 0
        upload, write, write_many = storage.upload, storage.write, storage.write_many

        def counted_upload(pairs: Any) -> None:
            for src, key in pairs:
                self._note(key, os.path.getsize(src))
            upload(pairs)

        def counted_write(key: str, data: bytes, **kw: Any) -> None:
            self._note(key, len(data))
            write(key, data, **kw)

        def counted_write_many(items: dict[str, bytes]) -> set[str]:
            for key, data in items.items():
                self._note(key, len(data))
            return write_many(items)

        storage.upload = counted_upload  # type: ignore[method-assign]
        storage.write = counted_write  # type: ignore[method-assign]
        storage.write_many = counted_write_many  # type: ignore[method-assign]

    def _note(self, key: str, size: int) -> None:
        if key.startswith("objects/"):
            self.keys.append(key)
            self.bytes += size


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _source(client: Client, tmp_path: Path) -> tuple[str, Path]:
    files = {
        "MLmodel": b"flavors: {}\n",
        "model.pkl": os.urandom(5000),
        "data/extra.json": b"{}",
        "big.bin": os.urandom(70_000),
    }
    src = _folder(tmp_path / "model-src", files)
    run_id = client.create_run(run_name="train").info.run_id
    client.log_artifacts(run_id, str(src), "model")
    client.create_registered_model("dev-model")
    client.create_model_version("dev-model", f"runs:/{run_id}/model")
    client.set_registered_model_alias("dev-model", "champion", 1)
    return run_id, src


@pytest.mark.parametrize("pair", PAIRS)
def test_promote_between_shelves(
    pair: tuple[str, str], shelf_factory: ShelfFactory, tmp_path: Path
) -> None:
    src_url, src_options = shelf_factory(pair[0])
    dst_url, dst_options = shelf_factory(pair[1])
    src = Client(Shelf(src_url, **src_options))
    run_id, folder = _source(src, tmp_path)
    src_version = src.get_model_version("dev-model", 1)
    dst_shelf = Shelf(dst_url, **dst_options)

    mv = src.copy_model_version(
        "models:/dev-model@champion", "prod-model", dst_url, dst_storage_options=dst_options
    )
    assert (mv.name, mv.version, mv.digest) == ("prod-model", 1, src_version.digest)
    assert mv.tags["modelshelf.source_shelf"] == src_url
    assert mv.tags["modelshelf.source_name"] == "dev-model"
    assert mv.tags["modelshelf.source_version"] == "1"
    assert mv.tags["modelshelf.source_digest"] == src_version.digest
    assert mv.tags["modelshelf.source_uri"] == "models:/dev-model@champion"
    assert mv.tags["modelshelf.source_run_id"] == run_id
    assert "models:/dev-model/1" in (mv.description or "") and src_url in (mv.description or "")

    dst = Client(Shelf(dst_url, **dst_options))
    tree = dst.shelf.blobs.read_tree(mv.digest)
    wanted = {Digest.parse(mv.digest)} | {e.digest for e in tree}
    on_dst = {key_to_digest(i.key) for i in dst.shelf.storage.list("objects/sha256/")}
    assert wanted <= on_dst
    report = dst.verify(deep=True)
    assert report.ok, str(report)
    got = download_uri("models:/prod-model/1", tmp_path / "dl", dst.shelf)
    assert _files(got) == _files(folder)

    # Again: a new version with the same digest, and not one byte moved.
    counter_again = UploadCounter(dst_shelf.storage)
    again = src.copy_model_version("models:/dev-model/1", "prod-model", dst_shelf)
    assert (again.version, again.digest) == (2, mv.digest)
    assert counter_again.keys == [] and counter_again.bytes == 0
    assert dst_shelf.blobs.last_put.bytes_uploaded == 0


def test_only_missing_blobs_move(tmp_path: Path) -> None:
    src = Client(Shelf(str(tmp_path / "src")))
    shared = os.urandom(40_000)
    folder = _folder(
        tmp_path / "m", {"MLmodel": b"m\n", "shared.bin": shared, "own.bin": os.urandom(3000)}
    )
    src.create_registered_model("m")
    src.create_model_version("m", str(folder))
    dst_shelf = Shelf(str(tmp_path / "dst"))
    dst_shelf.blobs.put_bytes(shared)  # the destination already holds one blob
    dst_shelf.blobs.put_bytes(b"m\n")
    counter = UploadCounter(dst_shelf.storage)
    mv = src.copy_model_version("models:/m/1", "m", dst_shelf)
    manifest = dst_shelf.storage.stat(Digest.parse(mv.digest).key).size
    assert counter.bytes == 3000 + manifest
    assert dst_shelf.blobs.last_put.bytes_uploaded == 3000 + manifest
    assert dst_shelf.blobs.last_put.blobs_uploaded == 2


def test_promote_from_run_uri_and_within_one_shelf(tmp_path: Path) -> None:
    client = Client(Shelf(str(tmp_path / "shelf")))
    run_id, folder = _source(client, tmp_path)
    counter = UploadCounter(client.shelf.storage)
    mv = client.copy_model_version(
        f"runs:/{run_id}/model", "same-shelf", tags={"team": "ml"}, description="hand-picked"
    )
    assert mv.tags["modelshelf.source_run_id"] == run_id
    assert mv.tags["modelshelf.source_artifact_path"] == "model"
    assert "modelshelf.source_name" not in mv.tags
    assert mv.tags["team"] == "ml" and mv.description == "hand-picked"
    assert counter.bytes == 0
    assert mv.digest == client.get_model_version("dev-model", 1).digest


def test_promote_errors(tmp_path: Path) -> None:
    client = Client(Shelf(str(tmp_path / "src")))
    run_id, _ = _source(client, tmp_path)
    dst = str(tmp_path / "dst")
    with pytest.raises(InvalidInputError):
        client.copy_model_version(f"runs:/{run_id}/model/model.pkl", "x", dst)
    with pytest.raises(InvalidInputError):
        client.copy_model_version(
            "models:/dev-model/1", "x", dst, tags={"modelshelf.source_shelf": "forged"}
        )
    with pytest.raises(VersionNotFoundError):
        client.copy_model_version("models:/dev-model/9", "x", dst)


def test_corrupt_source_blob_never_reaches_the_destination(tmp_path: Path) -> None:
    client = Client(Shelf(str(tmp_path / "src"), cache_dir=str(tmp_path / "cache")))
    _, folder = _source(client, tmp_path)
    tree = client.shelf.blobs.read_tree(client.get_model_version("dev-model", 1).digest)
    entry = tree.get("big.bin")
    assert entry is not None
    path = client.shelf.storage.local_path(entry.digest.key)
    assert path is not None
    os.chmod(path, 0o644)
    Path(path).write_bytes(b"tampered" + bytes(entry.size - 8))
    dst = Shelf(str(tmp_path / "dst"))
    with pytest.raises(IntegrityError):
        client.copy_model_version("models:/dev-model/1", "prod", dst)
    assert not dst.storage.exists(entry.digest.key)
    assert not dst.storage.exists(Digest.parse(client.get_model_version("dev-model", 1).digest).key)
