"""Registry benchmark: modelshelf's log + Parquet registry against MLflow's sqlite registry.

Measures, in one run on the same machine:

* ``create_model_version`` p50/p95 on a local shelf and on S3 (moto's server on 127.0.0.1),
  and on MLflow's sqlite registry;
* alias resolution (``get_model_version_by_alias``) with 1,000 and 100,000 versions: warm
  (a long-lived client) and cold (a new process: client construction + the first call,
  imports excluded, reported separately).

Usage::

    .venv/bin/python benchmarks/bench_registry.py            # full run (about 3-5 minutes)
    .venv/bin/python benchmarks/bench_registry.py --quick    # 1,000 versions only

MLflow is optional (the ``bench`` extra); without it only modelshelf's numbers are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CREATE_N = 60
WARM_N = 200
COLD_N = 3
PER_COMMIT = 10_000


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _model_dir(root: Path) -> Path:
    d = root / "model"
    d.mkdir(parents=True, exist_ok=True)
    (d / "MLmodel").write_text("flavors: {}\n")
    (d / "model.pkl").write_bytes(os.urandom(64 << 10))
    return d


# ------------------------------------------------------------------------------ modelshelf
def _bulk(client: Any, name: str, digest: str, count: int) -> None:
    """Register ``count`` versions in commits of up to 10,000 actions (setup only)."""
    done = 0
    while done < count:
        n = min(PER_COMMIT, count - done)

        def plan(state: Any, n: int = n) -> list[dict[str, Any]]:
            first = state.model(name).next_version
            return [
                {
                    "op": "create_version",
                    "name": name,
                    "version": first + i,
                    "digest": digest,
                    "source": "bench",
                }
                for i in range(n)
            ]

        client._reg_commit(plan)
        done += n


def ours_create(url: str, options: dict[str, Any], model: Path) -> list[float]:
    from modelshelf.registry import RegistryClient

    client = RegistryClient(url, **options)
    client.create_registered_model("bench")
    client.create_model_version("bench", str(model))  # first call pays the probe and upload
    return _time(lambda: client.create_model_version("bench", str(model)), CREATE_N)


def ours_build(url: str, versions: int, model: Path) -> None:
    from modelshelf.registry import RegistryClient

    client = RegistryClient(url, checkpoint_interval=0)
    client.create_registered_model("big")
    digest = str(client.shelf.blobs.put_tree(model))
    _bulk(client, "big", digest, versions)
    client._reg_write_checkpoint()
    client.set_registered_model_alias("big", "champion", versions - 1)


def ours_warm(url: str, options: dict[str, Any]) -> list[float]:
    from modelshelf.registry import RegistryClient
    from modelshelf.registry._replica import clear_replicas

    clear_replicas()
    client = RegistryClient(url, **options)
    client.get_model_version_by_alias("big", "champion")
    return _time(lambda: client.get_model_version_by_alias("big", "champion"), WARM_N)


def _probe_ours(url: str, options: dict[str, Any]) -> dict[str, float]:
    t0 = time.perf_counter()
    from modelshelf.registry import RegistryClient

    t1 = time.perf_counter()
    RegistryClient(url, **options).get_model_version_by_alias("big", "champion")
    return {"import": t1 - t0, "first": time.perf_counter() - t1}


def _probe_mlflow(uri: str) -> dict[str, float]:
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    import mlflow

    t1 = time.perf_counter()
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.get_model_version_by_alias("big", "champion")
    return {"import": t1 - t0, "first": time.perf_counter() - t1}


def cold(
    kind: str, target: str, options: dict[str, Any], *, cache: str | None
) -> list[dict[str, float]]:
    """Run the first alias resolution in ``COLD_N`` fresh processes."""
    out = []
    for _ in range(COLD_N):
        env = dict(os.environ)
        scratch = None
        if cache is None:
            scratch = tempfile.mkdtemp(prefix="bench-cache-")
            env["MODELSHELF_CACHE_DIR"] = scratch
        else:
            env["MODELSHELF_CACHE_DIR"] = cache
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--probe", kind, target, json.dumps(options)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


# ---------------------------------------------------------------------------------- mlflow
def mlflow_available() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def _mlflow_client(uri: str) -> Any:
    warnings.simplefilter("ignore")
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def mlflow_create(uri: str, model: Path) -> list[float]:
    client = _mlflow_client(uri)
    client.create_registered_model("bench")
    client.create_model_version("bench", str(model))
    return _time(lambda: client.create_model_version("bench", str(model)), CREATE_N)


def mlflow_build(uri: str, db: Path, versions: int, model: Path) -> None:
    """One version through the API, the rest cloned in SQL (the API would take hours)."""
    client = _mlflow_client(uri)
    client.create_registered_model("big")
    client.create_model_version("big", str(model))
    con = sqlite3.connect(db)
    cols = [row[1] for row in con.execute("PRAGMA table_info(model_versions)")]
    row = con.execute("SELECT * FROM model_versions WHERE name = 'big' AND version = 1").fetchone()
    at = cols.index("version")
    rows = []
    for v in range(2, versions + 1):
        clone = list(row)
        clone[at] = v
        rows.append(clone)
    marks = ",".join("?" * len(cols))
    quoted = ",".join(f'"{c}"' for c in cols)
    con.executemany(f"INSERT INTO model_versions ({quoted}) VALUES ({marks})", rows)
    con.commit()
    con.close()
    client.set_registered_model_alias("big", "champion", versions - 1)


def mlflow_warm(uri: str) -> list[float]:
    client = _mlflow_client(uri)
    client.get_model_version_by_alias("big", "champion")
    return _time(lambda: client.get_model_version_by_alias("big", "champion"), WARM_N)


# ------------------------------------------------------------------------------------ moto
def start_moto() -> tuple[Any, dict[str, Any]]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"key": "bench", "secret": "bench-secret", "endpoint_url": f"http://{host}:{port}"}
    import s3fs

    s3fs.S3FileSystem(**options).mkdir("bench")
    return server, options


# ------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-version runs")
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        kind, target, options = args.probe
        result = (
            _probe_ours(target, json.loads(options)) if kind == "ours" else _probe_mlflow(target)
        )
        print(json.dumps(result))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    os.environ.setdefault("MODELSHELF_CACHE_DIR", str(work / "cache"))
    os.environ["MODELSHELF_PROGRESS"] = "0"
    model = _model_dir(work)
    have_mlflow = mlflow_available()
    rows: list[tuple[str, str, list[float], list[float] | None]] = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, work dir {work}")

    # create_model_version
    local = ours_create(str(work / "create-local"), {}, model)
    server, s3 = start_moto()
    try:
        moto = ours_create("s3://bench/create", s3, model)
    finally:
        server.stop()
    ml = mlflow_create(f"sqlite:///{work / 'create.db'}", model) if have_mlflow else None
    rows.append(("create_model_version, local", "p50/p95", local, ml))
    rows.append(("create_model_version, S3 (moto)", "p50/p95", moto, ml))

    # alias resolution
    sizes = [1_000] if args.quick else [1_000, 100_000]
    for size in sizes:
        url = str(work / f"alias-{size}")
        t = time.perf_counter()
        ours_build(url, size, model)
        build_ours = time.perf_counter() - t
        warm = ours_warm(url, {})
        cold_empty = cold("ours", url, {}, cache=None)
        shared_cache = str(work / f"cache-{size}")
        cold("ours", url, {}, cache=shared_cache)  # fill the local checkpoint cache once
        cold_cached = cold("ours", url, {}, cache=shared_cache)
        ml_warm = ml_cold = None
        if have_mlflow:
            db = work / f"alias-{size}.db"
            uri = f"sqlite:///{db}"
            mlflow_build(uri, db, size, model)
            ml_warm = mlflow_warm(uri)
            ml_cold = cold("mlflow", uri, {}, cache=None)
        print(f"built {size:,} versions in {build_ours:.1f}s")
        rows.append((f"alias, {size:,} versions, warm", "p50/p95", warm, ml_warm))
        first = [c["first"] for c in cold_empty]
        ml_first = [c["first"] for c in ml_cold] if ml_cold else None
        rows.append((f"alias, {size:,} versions, cold, empty cache", "median", first, ml_first))
        rows.append(
            (
                f"alias, {size:,} versions, cold, cached checkpoint",
                "median",
                [c["first"] for c in cold_cached],
                ml_first,
            )
        )
        if size == sizes[0]:
            imports = [c["import"] for c in cold_empty]
            ml_imports = [c["import"] for c in ml_cold] if ml_cold else None
            rows.append(("import (client module)", "median", imports, ml_imports))

    print()
    print(f"| {'operation':<46} | {'modelshelf ms':>17} | {'MLflow sqlite ms':>17} | ratio |")
    print(f"|{'-' * 48}|{'-' * 19}|{'-' * 19}|-------|")
    for label, kind, ours, theirs in rows:
        if kind == "p50/p95":
            a = f"{_ms(_pct(ours, 0.5)).strip()} / {_ms(_pct(ours, 0.95)).strip()}"
            b = (
                f"{_ms(_pct(theirs, 0.5)).strip()} / {_ms(_pct(theirs, 0.95)).strip()}"
                if theirs
                else "-"
            )
        else:
            a = _ms(statistics.median(ours)).strip()
            b = _ms(statistics.median(theirs)).strip() if theirs else "-"
        ratio = f"{statistics.median(ours) / statistics.median(theirs):.2f}x" if theirs else "-"
        print(f"| {label:<46} | {a:>17} | {b:>17} | {ratio:>5} |")
    print("\nratio = modelshelf / MLflow (below 1 means modelshelf is faster)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
