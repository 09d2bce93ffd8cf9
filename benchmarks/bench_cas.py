"""put_tree / get_tree against the raw fsspec transfer ceiling, on local disk and S3 (moto).

    .venv/bin/python benchmarks/bench_cas.py [--quick] [--backends local,moto] [--repeat 3]

Workloads: (a) 1 x 512 MiB, (b) 2,000 x 16 KiB, (c) 200 files totalling 256 MiB. For each:
raw ``fs.put(lpaths, rpaths)`` / ``fs.get(rpaths, lpaths)`` of the same files, modelshelf
``put_tree`` (hash + existence check + upload) and ``get_tree`` (download + verify + cache +
materialise, cold cache), and a re-put of the unchanged tree. Ratios are raw time / our time
(1.0 = as fast as the raw copy; higher is better); "vs ceiling" divides by the slower of the raw
copy and hashing every file (docs/explanation/architecture.md: the local ceiling is min(sha256 speed, copy speed),
since every byte must be hashed). Median of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import moto_server, print_table  # noqa: E402

from modelshelf.cas import BlobStore, LocalCache, hash_file  # noqa: E402
from modelshelf.storage import open_storage  # noqa: E402

MiB = 1 << 20


def workloads(quick: bool) -> dict[str, list[int]]:
    scale = 8 if quick else 1
    return {
        "a: 1 x 512 MiB": [512 * MiB // scale],
        "b: 2000 x 16 KiB": [16 * 1024] * (2000 // scale),
        "c: 200 files / 256 MiB": [256 * MiB // 200 // scale] * 200,
    }


def make_files(root: Path, sizes: list[int]) -> list[Path]:
    root.mkdir(parents=True)
    paths = []
    for i, size in enumerate(sizes):
        path = root / f"d{i % 10}" / f"f{i}.bin"
        path.parent.mkdir(exist_ok=True)
        with open(path, "wb") as handle:
            left = size
            while left:
                chunk = os.urandom(min(left, 8 * MiB))
                handle.write(chunk)
                left -= len(chunk)
        paths.append(path)
    return paths


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_backend(
    name: str,
    url_base: str,
    options: dict,
    raw_fs: object,
    raw_root: str,
    work: Path,
    quick: bool,
    repeat: int,
) -> list[list[str]]:
    rows = []
    for label, sizes in workloads(quick).items():
        src = work / f"src-{uuid.uuid4().hex[:6]}"
        files = make_files(src, sizes)
        total = sum(sizes)
        raw_put, raw_get, put, get, reput, hashing = [], [], [], [], [], []
        for _ in range(repeat):
            # The other half of the ceiling: sha256 of every file (2 threads), no copying.
            with ThreadPoolExecutor(max_workers=2) as pool:
                hashing.append(timed(lambda: list(pool.map(hash_file, map(str, files)))))
            tag = uuid.uuid4().hex[:8]
            rdir = f"{raw_root}/raw-{tag}"
            rpaths = [f"{rdir}/{p.relative_to(src).as_posix()}" for p in files]
            lpaths = [str(p) for p in files]
            if name == "local":
                for rp in {os.path.dirname(r) for r in rpaths}:
                    os.makedirs(rp, exist_ok=True)
            raw_put.append(timed(lambda: raw_fs.put(lpaths, rpaths)))
            back = work / f"raw-back-{tag}"
            back_paths = [str(back / p.relative_to(src)) for p in files]
            for bp in {os.path.dirname(b) for b in back_paths}:
                os.makedirs(bp, exist_ok=True)
            raw_get.append(timed(lambda: raw_fs.get(rpaths, back_paths)))
            shutil.rmtree(back)

            cache = LocalCache(work / f"cache-{tag}")
            store = BlobStore(open_storage(f"{url_base}/shelf-{tag}", **options), cache=cache)
            digest = None

            def do_put() -> None:
                nonlocal digest
                digest = store.put_tree(src)

            # Each put must hash: forget the memo of earlier repeats.
            put.append(timed(do_put))
            reput.append(timed(lambda: store.put_tree(src)))
            assert store.last_put.bytes_uploaded == 0
            reader = BlobStore(store.storage, cache=LocalCache(work / f"cache2-{tag}"))
            out = work / f"out-{tag}"
            get.append(timed(lambda: reader.get_tree(digest, out)))
            shutil.rmtree(out)
            shutil.rmtree(work / f"cache-{tag}", ignore_errors=True)
            shutil.rmtree(work / f"cache2-{tag}", ignore_errors=True)
        m = statistics.median
        ceil_put, ceil_get = max(m(raw_put), m(hashing)), max(m(raw_get), m(hashing))
        rows.append(
            [
                name,
                label,
                f"{total / MiB:.0f}",
                f"{m(hashing):.3f}",
                f"{m(raw_put):.3f}",
                f"{m(put):.3f}",
                f"{m(raw_put) / m(put):.2f}",
                f"{ceil_put / m(put):.2f}",
                f"{m(raw_get):.3f}",
                f"{m(get):.3f}",
                f"{m(raw_get) / m(get):.2f}",
                f"{ceil_get / m(get):.2f}",
                f"{m(reput):.3f}",
                f"{100 * m(reput) / m(put):.1f}%",
            ]
        )
        shutil.rmtree(src)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1/8 of the sizes")
    parser.add_argument("--backends", default="local,moto")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-cas-") as tmp:
        work = Path(tmp)
        os.environ["MODELSHELF_CACHE_DIR"] = str(work / "default-cache")
        os.environ["MODELSHELF_PROGRESS"] = "0"
        backends = args.backends.split(",")
        if "local" in backends:
            import fsspec

            rows += run_backend(
                "local",
                str(work / "local"),
                {},
                fsspec.filesystem("file"),
                str(work / "rawlocal"),
                work,
                args.quick,
                args.repeat,
            )
        if "moto" in backends:
            import s3fs

            with moto_server() as (endpoint, options):
                raw = s3fs.S3FileSystem(**options)
                raw.mkdir("bench")
                rows += run_backend(
                    "moto", "s3://bench", options, raw, "bench", work, args.quick, args.repeat
                )
    print_table(
        [
            "backend",
            "workload",
            "MiB",
            "sha256 s",
            "raw put s",
            "put_tree s",
            "vs raw",
            "vs ceiling",
            "raw get s",
            "get_tree s",
            "vs raw",
            "vs ceiling",
            "re-put s",
            "re-put / put",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
