"""Artifacts benchmark: log_artifacts + download_artifacts, modelshelf vs MLflow, same run.

Trees (the foundation benchmark's): (a) 1 x 512 MiB, (b) 2,000 x 16 KiB, (c) 200 files /
256 MiB; ``--quick`` uses 64 MiB, 200 x 16 KiB and 40 files / 32 MiB.

Backends: a local folder, and S3 on moto (a ThreadedMotoServer on 127.0.0.1 started here).
MLflow runs beside it: a file store in a temporary folder, and for S3 the same file store
with an ``s3://`` artifact root on the same moto (``MLFLOW_S3_ENDPOINT_URL``).

Each modelshelf step uses a fresh cache folder, so a log hashes every file and a download
fetches every blob (as on another machine); re-logging the unchanged tree into a new run uses
the warm hash memo and must move 0 blob bytes.

    .venv/bin/python benchmarks/bench_artifacts.py [--quick] [--backends local,s3] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MiB = 1 << 20

FULL = {
    "a: 1 x 512 MiB": (1, 512 * MiB),
    "b: 2000 x 16 KiB": (2000, 16 << 10),
    "c: 200 files / 256 MiB": (200, 256 * MiB // 200),
}
QUICK = {
    "a: 1 x 64 MiB": (1, 64 * MiB),
    "b: 200 x 16 KiB": (200, 16 << 10),
    "c: 40 files / 32 MiB": (40, 32 * MiB // 40),
}


@dataclass
class Row:
    tree: str
    backend: str
    op: str
    modelshelf_s: float
    mlflow_s: float | None = None
    bytes: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.mlflow_s / self.modelshelf_s if self.mlflow_s and self.modelshelf_s else None


def make_tree(root: Path, count: int, size: int) -> Path:
    root.mkdir(parents=True)
    chunk = 8 * MiB
    for i in range(count):
        sub = root / f"part-{i // 100:03d}" if count > 100 else root
        sub.mkdir(exist_ok=True)
        with open(sub / f"file-{i:05d}.bin", "wb") as handle:
            left = size
            while left:
                n = min(chunk, left)
                handle.write(os.urandom(n))
                left -= n
    return root


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server(mode: str) -> Iterator[str]:
    """moto's S3 on 127.0.0.1: in this process (``threaded``, shares our GIL) or in its own
    process (``process``, closer to a real server)."""
    import logging
    import subprocess

    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stop: Callable[[], None]
    if mode == "threaded":
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        stop = server.stop
    else:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop() -> None:
            proc.terminate()
            proc.wait(timeout=15)

    try:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket="bench")
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        stop()


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def same_files(a: Path, b: Path) -> bool:
    fa = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    return fa == fb and all((a / f).stat().st_size == (b / f).stat().st_size for f in fa)


def bench_modelshelf(url: str, options: dict[str, Any], tree: Path, work: Path) -> dict[str, Any]:
    from modelshelf._shelf import Shelf
    from modelshelf.runs import RunsClient

    def client(cache: str) -> RunsClient:
        return RunsClient(Shelf(url, cache_dir=str(work / cache), **options))

    writer = client("cache-writer")
    run1 = writer.create_run(experiment_name="bench").info.run_id
    t_log, _ = timed(lambda: writer.log_artifacts(run1, tree, "data"))
    uploaded = writer.shelf.blobs.last_put.bytes_uploaded
    reader = client("cache-reader")
    dst = work / "ms-download"
    t_get, out = timed(lambda: reader.download_artifacts(run1, "data", str(dst)))
    assert same_files(tree, Path(out)), "modelshelf download differs from the source"
    dst2 = work / "ms-download-warm"
    t_get_warm, _ = timed(lambda: reader.download_artifacts(run1, "data", str(dst2)))
    run2 = writer.create_run(experiment_name="bench").info.run_id
    t_relog, _ = timed(lambda: writer.log_artifacts(run2, tree, "data"))
    stats = writer.shelf.blobs.last_put
    return {
        "log": t_log, "download": t_get, "download_warm": t_get_warm, "relog": t_relog,
        "uploaded": uploaded, "relog_uploaded": stats.bytes_uploaded,
        "relog_hashed": stats.hashed_files,
    }  # fmt: skip


def bench_mlflow(
    tracking: Path, artifact_root: str | None, tree: Path, work: Path
) -> dict[str, float]:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking.as_uri())
    client = MlflowClient()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    exp = client.create_experiment(name, artifact_location=artifact_root)
    run1 = client.create_run(exp).info.run_id
    t_log, _ = timed(lambda: client.log_artifacts(run1, str(tree), "data"))
    dst = work / "mlflow-download"
    dst.mkdir()
    t_get, out = timed(
        lambda: mlflow.artifacts.download_artifacts(
            run_id=run1, artifact_path="data", dst_path=str(dst)
        )
    )
    assert same_files(tree, Path(out)), "MLflow download differs from the source"
    run2 = client.create_run(exp).info.run_id
    t_relog, _ = timed(lambda: client.log_artifacts(run2, str(tree), "data"))
    return {"log": t_log, "download": t_get, "relog": t_relog}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small trees (a smoke run)")
    parser.add_argument("--backends", default="local,s3", help="comma list of local, s3")
    parser.add_argument(
        "--trees", default="a,b,c", help="which trees to run (comma list of a, b, c)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="best of N for every timing")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow comparison")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument(
        "--moto",
        choices=["threaded", "process"],
        default="threaded",
        help="moto in this process (ThreadedMotoServer, default) or in its own process",
    )
    args = parser.parse_args(argv)
    os.environ["MODELSHELF_PROGRESS"] = "0"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_ALLOW_FILE_STORE": "true",
    }.items():  # fmt: skip
        os.environ.setdefault(name, value)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    wanted = {t.strip() for t in args.trees.split(",")}
    trees = {k: v for k, v in (QUICK if args.quick else FULL).items() if k[0] in wanted}
    with_mlflow = not args.no_mlflow
    if with_mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            print("mlflow is not installed: comparing nothing (pip install 'modelshelf[bench]')")
            with_mlflow = False
    rows: list[Row] = []
    base = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    try:
        with contextlib.ExitStack() as stack:
            endpoint = stack.enter_context(moto_server(args.moto)) if "s3" in backends else None
            if endpoint:
                os.environ["MLFLOW_S3_ENDPOINT_URL"] = endpoint
            for label, (count, size) in trees.items():
                src = make_tree(base / "src" / uuid.uuid4().hex[:8], count, size)
                total = tree_bytes(src)
                for backend in backends:
                    ms: dict[str, Any] = {}
                    ml: dict[str, Any] = {}
                    for _ in range(max(1, args.repeat)):
                        work = base / "work" / uuid.uuid4().hex[:8]
                        work.mkdir(parents=True)
                        url, options, ml_root = where(backend, endpoint, work)
                        best(ms, bench_modelshelf(url, options, src, work))
                        if with_mlflow:
                            best(ml, bench_mlflow(work / "mlruns", ml_root, src, work))
                        shutil.rmtree(work, ignore_errors=True)
                    rows += [
                        Row(label, backend, "log_artifacts", ms["log"], ml.get("log"), total,
                            f"{ms['uploaded'] / MiB:.0f} MiB uploaded"),
                        Row(label, backend, "download_artifacts", ms["download"], ml.get("download"), total,
                            "fresh cache"),
                        Row(label, backend, "download again", ms["download_warm"], None, total,
                            "verified cache, no blob read"),
                        Row(label, backend, "re-log unchanged, new run", ms["relog"], ml.get("relog"), total,
                            f"{ms['relog_uploaded']} blob bytes moved, "
                            f"{ms['relog_hashed']} files re-hashed"),
                    ]  # fmt: skip
                    print_row(rows[-4:])
                shutil.rmtree(src, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(markdown(rows, quick=args.quick, moto=args.moto))
    if args.json:
        print(json.dumps([r.__dict__ | {"ratio": r.ratio} for r in rows], indent=2))
    return 0


def where(backend: str, endpoint: str | None, work: Path) -> tuple[str, dict[str, Any], str | None]:
    """The shelf URL, its storage options, and MLflow's artifact root for a backend."""
    if backend == "local":
        return str(work / "shelf"), {}, None
    if backend == "s3":
        assert endpoint is not None
        options = {"endpoint_url": endpoint, "key": "bench", "secret": "bench-secret"}
        tag = uuid.uuid4().hex[:8]
        return f"s3://bench/shelf-{tag}", options, f"s3://bench/mlflow-{tag}"
    raise SystemExit(f"unknown backend {backend!r}")


def best(acc: dict[str, Any], new: dict[str, Any]) -> None:
    """Keep the fastest time of each step (counters come from the first round)."""
    for key, value in new.items():
        if key not in acc or (isinstance(value, float) and value < acc[key]):
            acc[key] = value


def print_row(rows: list[Row]) -> None:
    for r in rows:
        ml = f"{r.mlflow_s:8.2f}s" if r.mlflow_s is not None else "       -"
        ratio = f"{r.ratio:6.1f}x" if r.ratio is not None else "      -"
        print(f"{r.tree:24} {r.backend:6} {r.op:28} modelshelf {r.modelshelf_s:8.3f}s  "
              f"mlflow {ml}  {ratio}  {r.note}", flush=True)  # fmt: skip


def markdown(rows: list[Row], *, quick: bool, moto: str) -> str:
    import mlflow

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"MLflow {getattr(mlflow, '__version__', '?')}{' (--quick)' if quick else ''}; "
        f"s3 = moto ({moto}) on 127.0.0.1.",
        "",
        "| tree | backend | operation | modelshelf | MLflow | MLflow / modelshelf | note |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ml = f"{r.mlflow_s:.2f} s" if r.mlflow_s is not None else "–"
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else "–"
        mbps = r.bytes / MiB / r.modelshelf_s if r.modelshelf_s else 0
        lines.append(
            f"| {r.tree} | {r.backend} | {r.op} | {r.modelshelf_s:.3f} s ({mbps:,.0f} MiB/s) | "
            f"{ml} | {ratio} | {r.note} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
