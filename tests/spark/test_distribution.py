"""How executors get the model, without Spark: a broadcast copy is checked file by file."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelshelf.errors import IntegrityError
from modelshelf.pyfunc import _spark


@dataclass
class _Broadcast:
    value: bytes


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "data").mkdir()
    (folder / "data" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    return folder


def _ref(files: dict[str, str], payload: bytes) -> _spark._ModelRef:
    return _spark._ModelRef(
        "broadcast", "sha256:" + "ab" * 32, None, {}, files, _Broadcast(payload)
    )


def test_a_broadcast_folder_is_unpacked_once_after_its_digests_match(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path)
    ref = _ref(_spark._hash_folder(str(folder)), _spark._pack(str(folder)))
    first = Path(_spark._folder(ref))
    assert (first / "data" / "weights.bin").read_bytes() == b"\x00\x01" * 100
    assert _spark._folder(ref) == str(first)  # the second task reuses the checked copy


def test_a_tampered_broadcast_is_never_used(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path)
    files = _spark._hash_folder(str(folder))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        (folder / "data" / "weights.bin").write_bytes(b"evil")
        archive.add(folder, arcname=".")
    ref = _ref(files, buffer.getvalue())
    with pytest.raises(IntegrityError, match="data/weights.bin"):
        _spark._folder(ref)
    cache = Path(_spark._settings_cache())
    assert not any(p.name.startswith("sha256-") for p in (cache / "spark").iterdir())
