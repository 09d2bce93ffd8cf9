"""``StorageTests``: the behaviour every :class:`~modelshelf.storage.Storage` must show.

Modelled on fsspec's abstract tests and zarr's ``StoreTests``: a plain class whose ``test_*``
methods take a ``storage`` fixture that the subclass provides (a fresh, empty location per
test). Nothing here imports pytest; pytest collects and runs the methods.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelshelf.errors import AlreadyExistsError, InvalidPathError, ObjectNotFoundError
from modelshelf.storage import FsspecStorage, LocalStorage, Storage

__all__ = ["StorageTests"]

INVALID_KEYS: tuple[str, ...] = (
    "",
    "..",
    "../escape",
    "a/../../escape",
    "a/./b",
    ".",
    "/absolute",
    "/",
    "a//b",
    "a/",
    "nul\x00byte",
    "back\\slash",
)


@contextlib.contextmanager
def _raises(*types: type[BaseException]) -> Iterator[list[BaseException]]:
    """Like ``pytest.raises`` but dependency-free: the caught error lands in the list."""
    caught: list[BaseException] = []
    try:
        yield caught
    except types as exc:
        caught.append(exc)
        return
    names = " or ".join(t.__name__ for t in types)
    raise AssertionError(f"expected {names} to be raised, nothing was")


def _payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


class StorageTests:
    """Conformance tests for a :class:`Storage`; subclass and provide a ``storage`` fixture.

    The fixture must yield a Storage on a fresh, empty location. Override :meth:`reopen` if
    the generic way of opening a second, independent client on the same location does not
    fit your backend.
    """

    #: Bytes in the "large" roundtrip: enough to cross typical buffering and chunk sizes.
    large_size: int = 3 * 2**20 + 17
    #: Files in the upload/download test.
    many_files: int = 24

    def reopen(self, storage: Storage) -> Storage:
        """A second Storage on the same location sharing no client-side state or caches."""
        if isinstance(storage, LocalStorage):
            return LocalStorage(storage.root, url=storage.url)
        if isinstance(storage, FsspecStorage):
            fs = storage.fs
            options: dict[str, Any] = dict(getattr(fs, "storage_options", {}))
            options["skip_instance_cache"] = True
            other = type(fs)(**options)
            return FsspecStorage(
                other, storage.root, url=storage.url, capabilities=storage.capabilities
            )
        raise TypeError(
            f"the kit cannot open a second client for {type(storage).__name__}; "
            "override reopen() in your test class"
        )

    # -- write / read ---------------------------------------------------------------------
    def test_roundtrip_sizes(self, storage: Storage) -> None:
        for name, size in (("empty", 0), ("one", 1), ("small", 1000), ("large", self.large_size)):
            data = _payload(size, seed=size)
            storage.write(f"sizes/{name}.bin", data)
            assert storage.read(f"sizes/{name}.bin") == data, name
            assert storage.stat(f"sizes/{name}.bin").size == size, name

    def test_unusual_characters_in_keys(self, storage: Storage) -> None:
        keys = ["with space/file name.txt", "unicode/ünïcødé-名前.json", "punct/a+b=c,d@e~f.bin"]
        for index, key in enumerate(keys):
            storage.write(key, f"value {index}".encode())
        for index, key in enumerate(keys):
            assert storage.read(key) == f"value {index}".encode()
            assert storage.exists(key)
        assert [info.key for info in storage.list()] == sorted(keys)

    def test_create_if_absent_refuses_existing_key(self, storage: Storage) -> None:
        storage.write("once/key", b"first")
        with _raises(AlreadyExistsError) as caught:
            storage.write("once/key", b"second, longer than the first")
        assert isinstance(caught[0], FileExistsError)
        assert "once/key" in str(caught[0])
        assert storage.read("once/key") == b"first"

    def test_create_if_absent_refuses_empty_body_over_existing(self, storage: Storage) -> None:
        # s3fs's open("xb") truncates an existing key when nothing was written: never here.
        storage.write("once/key", b"first")
        with _raises(AlreadyExistsError):
            storage.write("once/key", b"")
        assert storage.read("once/key") == b"first"

    def test_create_if_absent_refuses_over_empty_object(self, storage: Storage) -> None:
        storage.write("once/empty", b"")
        with _raises(AlreadyExistsError):
            storage.write("once/empty", b"late")
        assert storage.read("once/empty") == b""

    def test_overwrite_replaces(self, storage: Storage) -> None:
        storage.write("over/key", b"old bytes, quite long")
        storage.write("over/key", b"new", overwrite=True)
        assert storage.read("over/key") == b"new"
        assert storage.stat("over/key").size == 3
        storage.write("over/fresh", b"created", overwrite=True)
        assert storage.read("over/fresh") == b"created"

    def test_write_many_creates_only_absent_keys(self, storage: Storage) -> None:
        storage.write("wm/00", b"kept")
        storage.write("wm/03", b"kept too")
        items = {f"wm/{i:02d}": f"new {i}".encode() for i in range(8)}
        assert storage.write_many(items) == set(items) - {"wm/00", "wm/03"}
        assert storage.read("wm/00") == b"kept"
        assert storage.read("wm/03") == b"kept too"
        assert storage.read("wm/05") == b"new 5"
        assert storage.write_many(items) == set()
        assert storage.write_many({}) == set()

    # -- existence and metadata -----------------------------------------------------------
    def test_exists(self, storage: Storage) -> None:
        assert not storage.exists("dir/key")
        storage.write("dir/key", b"x")
        assert storage.exists("dir/key")
        assert not storage.exists("dir"), "a folder (common prefix) is not an object"
        assert not storage.exists("dir/ke"), "a name prefix is not an object"

    def test_exists_many(self, storage: Storage) -> None:
        present = [f"many/{i:02d}" for i in range(0, 12, 2)]
        absent = [f"many/{i:02d}" for i in range(1, 12, 2)] + ["elsewhere/x", "many"]
        for key in present:
            storage.write(key, key.encode())
        assert storage.exists_many(present + absent) == set(present)
        assert storage.exists_many(absent) == set()
        assert storage.exists_many([]) == set()
        assert storage.exists_many(present[:1]) == set(present[:1])

    def test_read_many(self, storage: Storage) -> None:
        present = {f"rm/{i}/value": f"value {i}".encode() for i in range(6)}
        present["rm/empty"] = b""
        for key, data in present.items():
            storage.write(key, data)
        absent = ["rm/missing", "rm/9/value"]
        got = storage.read_many([*present, *absent])
        assert got == {**present, **dict.fromkeys(absent)}
        assert storage.read_many([]) == {}
        assert storage.read_many(["rm/0/value"]) == {"rm/0/value": b"value 0"}
        assert storage.read_many(["rm/missing"]) == {"rm/missing": None}

    def test_stat(self, storage: Storage) -> None:
        for size in (0, 1, 1234):
            storage.write(f"stat/{size}", _payload(size))
            info = storage.stat(f"stat/{size}")
            assert (info.key, info.size) == (f"stat/{size}", size)
            assert info.mtime is None or info.mtime > 0
        with _raises(ObjectNotFoundError):
            storage.stat("stat/missing")
        with _raises(ObjectNotFoundError):
            storage.stat("stat")  # a folder

    # -- listing ----------------------------------------------------------------------------
    def test_list(self, storage: Storage) -> None:
        assert storage.list() == []
        contents = {
            "b/2": b"22",
            "a/1": b"1",
            "a/b/3": b"333",
            "ab/4": b"4444",
            "c": b"",
            "a/z/y/x/5": b"55555",
        }
        for key, data in contents.items():
            storage.write(key, data)
        everything = storage.list()
        assert [info.key for info in everything] == sorted(contents)
        assert {info.key: info.size for info in everything} == {
            key: len(data) for key, data in contents.items()
        }
        in_a = ["a/1", "a/b/3", "a/z/y/x/5"]
        assert [info.key for info in storage.list("a")] == in_a
        assert [info.key for info in storage.list("a/")] == in_a
        assert [info.key for info in storage.list("a/z")] == ["a/z/y/x/5"]
        assert storage.list("missing") == []
        assert storage.list("a/missing/") == []
        assert storage.list("c") == [], "a prefix names a folder; the object 'c' is not below it"
        assert storage.list("a/1") == []

    def test_list_hides_temporary_files(self, storage: Storage) -> None:
        storage.write("tmp/key", b"first")
        with _raises(AlreadyExistsError):
            storage.write("tmp/key", b"second")
        storage.write("tmp/key", b"third", overwrite=True)
        assert [info.key for info in storage.list()] == ["tmp/key"]

    def test_sees_writes_of_another_client_at_once(self, storage: Storage) -> None:
        storage.write("shared/mine", b"1")
        assert [info.key for info in storage.list()] == ["shared/mine"]  # fill any cache
        assert not storage.exists("shared/theirs")
        assert storage.read_many(["shared/theirs"]) == {"shared/theirs": None}
        other = self.reopen(storage)
        other.write("shared/theirs", b"2")
        other.write("shared/deeper/theirs", b"3")
        assert [info.key for info in storage.list()] == [
            "shared/deeper/theirs",
            "shared/mine",
            "shared/theirs",
        ]
        assert [info.key for info in storage.list("shared/deeper")] == ["shared/deeper/theirs"]
        assert storage.exists("shared/theirs")
        assert storage.exists_many(["shared/theirs", "shared/deeper/theirs", "shared/x"]) == {
            "shared/theirs",
            "shared/deeper/theirs",
        }
        assert storage.read("shared/theirs") == b"2"
        assert storage.stat("shared/theirs").size == 1
        with _raises(AlreadyExistsError):
            storage.write("shared/theirs", b"mine now?")
        other.delete("shared/theirs")
        assert not storage.exists("shared/theirs")
        assert [info.key for info in storage.list()] == ["shared/deeper/theirs", "shared/mine"]

    # -- delete -------------------------------------------------------------------------------
    def test_delete_is_idempotent(self, storage: Storage) -> None:
        storage.write("del/key", b"x")
        storage.write("del/keep", b"y")
        storage.delete("del/key")
        assert not storage.exists("del/key")
        with _raises(ObjectNotFoundError):
            storage.read("del/key")
        storage.delete("del/key")
        storage.delete("del/never/written")
        storage.delete("del")  # a folder is not an object: nothing happens
        storage.delete("del/keep/below")  # a parent that is an object: nothing happens
        assert [info.key for info in storage.list()] == ["del/keep"]
        storage.write("del/key", b"again")  # a create after a delete succeeds
        assert storage.read("del/key") == b"again"

    # -- streaming and transfers --------------------------------------------------------------
    def test_open_read_streams(self, storage: Storage) -> None:
        data = _payload(self.large_size, seed=7)
        storage.write("stream/blob", data)
        digest = hashlib.sha256()
        chunks = 0
        with storage.open_read("stream/blob") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                chunks += 1
        assert digest.digest() == hashlib.sha256(data).digest()
        assert chunks == -(-len(data) // (1 << 20))
        with storage.open_read("stream/blob") as handle:
            handle.seek(len(data) - 5)
            assert handle.read() == data[-5:]

    def test_upload_and_download_many(self, storage: Storage) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "src"), Path(tmp, "dst")
            files = {
                f"tree/{i % 3}/{i % 5}/file-{i}.bin": _payload(i * 997, seed=i)
                for i in range(self.many_files)
            }
            pairs = []
            for key, data in files.items():
                path = src / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                pairs.append((str(path), key))
            storage.upload(pairs)
            assert [info.key for info in storage.list("tree")] == sorted(files)
            storage.download([(key, str(dst / key)) for key in files])
            for key, data in files.items():
                assert (dst / key).read_bytes() == data, key
            # One pair takes the single-file path; upload overwrites (blobs are idempotent).
            one = src / "one.bin"
            one.write_bytes(b"replacement")
            storage.upload([(str(one), "tree/0/0/file-0.bin")])
            storage.download([("tree/0/0/file-0.bin", str(dst / "single" / "out.bin"))])
            assert (dst / "single" / "out.bin").read_bytes() == b"replacement"
            storage.upload([])
            storage.download([])

    def test_download_missing_raises(self, storage: Storage) -> None:
        storage.write("present", b"x")
        with tempfile.TemporaryDirectory() as tmp:
            with _raises(ObjectNotFoundError):
                storage.download([("absent", os.path.join(tmp, "out"))])

    # -- errors ---------------------------------------------------------------------------------
    def test_missing_key_raises_not_found(self, storage: Storage) -> None:
        storage.write("folder/object", b"x")
        for call in (storage.read, storage.open_read, storage.stat):
            with _raises(ObjectNotFoundError) as caught:
                call("no/such/key")
            assert isinstance(caught[0], FileNotFoundError)
            assert "no/such/key" in str(caught[0])
            with _raises(ObjectNotFoundError):
                call("folder")  # a folder is not an object
            with _raises(ObjectNotFoundError):
                call("folder/object/below")  # nor is a path through an object

    def test_invalid_keys_rejected_before_io(self, storage: Storage) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "file")
            Path(local).write_bytes(b"x")
            calls: list[tuple[str, Any]] = [
                ("read", lambda key: storage.read(key)),
                ("open_read", lambda key: storage.open_read(key)),
                ("write", lambda key: storage.write(key, b"x")),
                ("overwrite", lambda key: storage.write(key, b"x", overwrite=True)),
                ("exists", lambda key: storage.exists(key)),
                ("stat", lambda key: storage.stat(key)),
                ("delete", lambda key: storage.delete(key)),
                ("exists_many", lambda key: storage.exists_many(["ok", key])),
                ("read_many", lambda key: storage.read_many(["ok", key])),
                ("upload", lambda key: storage.upload([(local, "ok"), (local, key)])),
                ("download", lambda key: storage.download([(key, local)])),
            ]
            for key in INVALID_KEYS:
                for name, call in calls:
                    try:
                        call(key)
                    except InvalidPathError as exc:
                        assert isinstance(exc, ValueError)
                    else:
                        raise AssertionError(f"{name}({key!r}) did not raise InvalidPathError")
            with _raises(InvalidPathError):
                storage.list("../up")
            with _raises(InvalidPathError):
                storage.list("a/../../up")
        assert storage.list() == [], "an invalid key caused I/O"

    def test_probe_detects_atomic_create(self, storage: Storage) -> None:
        assert storage.probe() is True
        assert storage.list() == [], "probe() must clean up after itself"
