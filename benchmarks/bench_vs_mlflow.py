"""modelshelf vs MLflow, end to end: the same workloads on both, in one run, local and S3 (moto).

Workloads (issue 7, item 6; docs/explanation/architecture.md, "Performance goals"):

1. log a model folder with ``pyfunc.log_model(python_model=<tiny PythonModel>,
   artifacts={"weights": <folder>}, registered_model_name=…)``: (a) 1 x 512 MiB,
   (b) 2,000 x 16 KiB, (c) 200 files / 256 MiB (``--quick``: 64 MiB, 200 x 16 KiB, 40 files /
   32 MiB). ``pip_requirements`` is given on both sides so the row measures the folder, not
   requirement inference (that has its own row);
2. re-log the unchanged folder the same way in a new run: version 2 of the registered model;
3. a registry of 1,000 versions (built in bulk on both sides, then 10 versions through the API):
   ``create_model_version``, ``set_registered_model_alias``, and resolving ``name@alias`` and
   ``get_latest_versions`` warm (long-lived client) and cold (a fresh process);
4. a fresh process per run that loads a scikit-learn model by alias
   (``pyfunc.load_model("models:/clf@champion")``) and predicts on 10,000 rows: total wall time
   (interpreter start included) and the ``load_model`` part;
5. ``import modelshelf`` vs ``import mlflow`` in a fresh process;
6. log + register a small scikit-learn model with inferred requirements, in a fresh process
   (first call, and a second call in the same process).

MLflow side: a sqlite tracking + registry store in a temporary folder; artifacts in a local
folder, or for S3 an ``s3://`` artifact root on the same moto server (``MLFLOW_S3_ENDPOINT_URL``).
modelshelf side: a shelf in a local folder, or ``s3://bench/shelf-…`` on that moto. moto runs in
its own process (``_common.moto_server``). Every modelshelf cold step uses an empty cache folder.

    .venv/bin/python benchmarks/bench_vs_mlflow.py [--quick] [--backends local,moto] [--repeat 3]

Speed-up = MLflow time / modelshelf time: above 1 means modelshelf is faster.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _common import machine, moto_server  # noqa: E402

MiB = 1 << 20
FULL = {
    "1 x 512 MiB": (1, 512 * MiB),
    "2,000 x 16 KiB": (2000, 16 << 10),
    "200 files / 256 MiB": (200, 256 * MiB // 200),
}
QUICK = {
    "1 x 64 MiB": (1, 64 * MiB),
    "200 x 16 KiB": (200, 16 << 10),
    "40 files / 32 MiB": (40, 32 * MiB // 40),
}
REGISTRY_SIZE = 1_000
API_CREATES = 10  # the last versions of the registry go through the public API (timed)
ROWS = 10_000
FEATURES = 20
PIP = ["cloudpickle"]  # explicit requirements for the folder rows (both sides)


@dataclass
class Row:
    workload: str
    backend: str
    ours: float | None
    theirs: float | None
    note: str = ""
    unit: str = "s"

    def speedup(self) -> str:
        if not self.ours or not self.theirs:
            return "–"
        return f"{self.theirs / self.ours:.1f}x"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value * 1000:.2f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def quiet() -> None:
    warnings.simplefilter("ignore")
    for name in ("mlflow", "alembic", "botocore", "urllib3", "s3fs", "werkzeug"):
        logging.getLogger(name).setLevel(logging.ERROR)


def make_tree(root: Path, count: int, size: int) -> Path:
    root.mkdir(parents=True)
    for i in range(count):
        sub = root / f"part-{i // 100:03d}" if count > 100 else root
        sub.mkdir(exist_ok=True)
        with open(sub / f"file-{i:05d}.bin", "wb") as handle:
            left = size
            while left:
                n = min(8 * MiB, left)
                handle.write(os.urandom(n))
                left -= n
    return root


# ------------------------------------------------------------------------------ the two sides
class Side:
    """One library on one backend: the setup every workload needs."""

    def __init__(self, backend: str, work: Path, endpoint: str | None, options: dict[str, Any]):
        self.backend = backend
        self.work = work
        self.endpoint = endpoint
        self.options = options
        tag = uuid.uuid4().hex[:6]
        # modelshelf
        self.shelf_url = f"s3://bench/shelf-{tag}" if endpoint else str(work / "shelf")
        # MLflow: sqlite tracking + registry; artifacts local or on the same moto
        self.db = work / "mlflow.db"
        self.tracking = f"sqlite:///{self.db}"
        self.artifact_root = (
            f"s3://bench/mlflow-{tag}" if endpoint else (work / "mlflow-artifacts").as_uri()
        )

    # environment for child processes
    def env(self, cache: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["MODELSHELF_PROGRESS"] = "0"
        env["MLFLOW_TRACKING_URI"] = self.tracking
        if cache:
            env["MODELSHELF_CACHE_DIR"] = cache
        return env

    def spec(self) -> dict[str, Any]:
        return {"shelf": self.shelf_url, "options": self.options, "tracking": self.tracking}

    # ---------------------------------------------------------------- modelshelf
    def ms_shelf(self, cache: str) -> Any:
        import modelshelf

        return modelshelf.set_shelf(
            modelshelf.Shelf(self.shelf_url, cache_dir=cache, **self.options)
        )

    # ---------------------------------------------------------------- MLflow
    def ml_experiment(self, name: str) -> str:
        import mlflow

        mlflow.set_tracking_uri(self.tracking)
        mlflow.set_registry_uri(self.tracking)
        client = mlflow.MlflowClient()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(client.create_experiment(name, artifact_location=f"{self.artifact_root}/{name}"))


def tiny_models() -> tuple[Any, Any]:
    import mlflow.pyfunc

    import modelshelf.pyfunc

    class TinyMs(modelshelf.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    class TinyMl(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    return TinyMs(), TinyMl()


# ------------------------------------------------------------------- 1-2: log and re-log a folder
def bench_folders(side: Side, trees: dict[str, tuple[int, int]], out: list[Row]) -> None:
    tiny_ms, tiny_ml = tiny_models()
    exp = side.ml_experiment("folders")
    for i, (label, (count, size)) in enumerate(trees.items()):
        _one_folder(side, i, label, count, size, exp, tiny_ms, tiny_ml, out)


def _one_folder(
    side: Side,
    i: int,
    label: str,
    count: int,
    size: int,
    exp: str,
    tiny_ms: Any,
    tiny_ml: Any,
    out: list[Row],
) -> None:
    import mlflow

    import modelshelf

    tree = make_tree(side.work / f"tree-{i}" / "weights", count, size)
    name = f"folder{i}"
    # modelshelf: an empty cache (as on a fresh machine), kept for the re-log
    cache = str(side.work / f"ms-cache-{i}")
    shelf = side.ms_shelf(cache)
    # log_model stores the staged folder with put_tree, then records it in the run (a
    # second put that finds everything present): keep the stats of the first one
    seen: list[Any] = []
    put_tree = shelf.blobs.put_tree

    def recording_put_tree(*a: Any, **k: Any) -> Any:
        result = put_tree(*a, **k)
        seen.append(shelf.blobs.last_put)
        return result

    shelf.blobs.put_tree = recording_put_tree

    def ms_log() -> Any:
        with modelshelf.start_run():
            return modelshelf.pyfunc.log_model(
                name="model",
                python_model=tiny_ms,
                artifacts={"weights": str(tree)},
                pip_requirements=PIP,
                registered_model_name=name,
            )

    t_ms1, info1 = timed(ms_log)
    up1 = seen[0].bytes_uploaded
    seen.clear()
    t_ms2, info2 = timed(ms_log)
    last = seen[0]
    assert info1.digest != info2.digest and info2.registered_model_version == 2  # new MLmodel

    def ml_log() -> Any:
        with mlflow.start_run(experiment_id=exp):
            return mlflow.pyfunc.log_model(
                name="model",
                python_model=tiny_ml,
                artifacts={"weights": str(tree)},
                pip_requirements=PIP,
                registered_model_name=name,
            )

    t_ml1, _ = timed(ml_log)
    t_ml2, mi2 = timed(ml_log)
    assert int(mi2.registered_model_version) == 2
    out.append(
        Row(
            f"log model folder {label}",
            side.backend,
            t_ms1,
            t_ml1,
            f"{up1 / MiB:.0f} MiB uploaded by modelshelf",
        )
    )
    out.append(
        Row(
            f"re-log unchanged {label} (version 2)",
            side.backend,
            t_ms2,
            t_ml2,
            f"modelshelf: {last.bytes_uploaded} B uploaded, {last.hashed_files} files re-hashed",
        )
    )
    print_row(out[-2])
    print_row(out[-1])
    shutil.rmtree(tree.parent, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)


# ------------------------------------------------------------------------ 3: 1,000-version registry
def _model_dir(root: Path) -> Path:
    d = root / "reg-model"
    d.mkdir(parents=True, exist_ok=True)
    (d / "MLmodel").write_text("flavors: {}\n")
    (d / "model.pkl").write_bytes(os.urandom(64 << 10))
    return d


def _p50(xs: list[float]) -> float:
    return statistics.median(xs)


def bench_registry(side: Side, repeat: int, out: list[Row]) -> None:
    quiet()
    import mlflow

    from modelshelf.client import Client

    model = _model_dir(side.work)
    bulk = REGISTRY_SIZE - API_CREATES
    warm_n = 200 if side.endpoint is None else 50

    # modelshelf: 990 versions in one commit + a checkpoint (setup), then 10 through the API
    side.ms_shelf(str(side.work / "ms-cache-reg"))
    client = Client()
    client.create_registered_model("reg")
    digest = str(client.shelf.blobs.put_tree(model))

    def plan(state: Any) -> list[dict[str, Any]]:
        first = state.model("reg").next_version
        return [
            {
                "op": "create_version",
                "name": "reg",
                "version": first + i,
                "digest": digest,
                "source": "bench",
            }
            for i in range(bulk)
        ]

    client._reg_commit(plan)
    client._reg_write_checkpoint()
    creates = [
        timed(lambda: client.create_model_version("reg", digest))[0] for _ in range(API_CREATES)
    ]
    t_alias, _ = timed(lambda: client.set_registered_model_alias("reg", "champion", 1000))
    client.get_model_version_by_alias("reg", "champion")
    warm_alias = [
        timed(lambda: client.get_model_version_by_alias("reg", "champion"))[0]
        for _ in range(warm_n)
    ]
    warm_latest = [timed(lambda: client.get_latest_versions("reg"))[0] for _ in range(warm_n)]
    assert client.get_model_version_by_alias("reg", "champion").version in (1000, "1000")

    # MLflow: one version through the API, the rest cloned in SQL, then 10 through the API
    mlflow.set_tracking_uri(side.tracking)
    ml = mlflow.MlflowClient(tracking_uri=side.tracking, registry_uri=side.tracking)
    ml.create_registered_model("reg")
    ml.create_model_version("reg", str(model))
    con = sqlite3.connect(side.db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(model_versions)")]
    row = con.execute("SELECT * FROM model_versions WHERE name='reg' AND version=1").fetchone()
    at = cols.index("version")
    clones = []
    for v in range(2, bulk + 1):
        clone = list(row)
        clone[at] = v
        clones.append(clone)
    con.executemany(
        f"INSERT INTO model_versions ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        clones,
    )
    con.commit()
    con.close()
    ml_creates = [
        timed(lambda: ml.create_model_version("reg", str(model)))[0] for _ in range(API_CREATES)
    ]
    ml_t_alias, _ = timed(lambda: ml.set_registered_model_alias("reg", "champion", 1000))
    ml.get_model_version_by_alias("reg", "champion")
    ml_warm_alias = [
        timed(lambda: ml.get_model_version_by_alias("reg", "champion"))[0] for _ in range(warm_n)
    ]
    ml_warm_latest = [timed(lambda: ml.get_latest_versions("reg"))[0] for _ in range(warm_n)]
    assert str(ml.get_model_version_by_alias("reg", "champion").version) == "1000"

    cold_ms = [
        child(side, "resolve", {"lib": "modelshelf"}, fresh_cache=True) for _ in range(repeat)
    ]
    cold_ml = [child(side, "resolve", {"lib": "mlflow"}) for _ in range(repeat)]
    ml_where = "" if side.endpoint is None else " (MLflow: local sqlite)"
    rows = [
        Row(
            f"create_model_version, p50 (registry of ~1,000){ml_where}",
            side.backend,
            _p50(creates),
            _p50(ml_creates),
            unit="ms",
        ),
        Row(f"set_registered_model_alias{ml_where}", side.backend, t_alias, ml_t_alias, unit="ms"),
        Row(
            f"resolve name@alias, warm p50, 1,000 versions{ml_where}",
            side.backend,
            _p50(warm_alias),
            _p50(ml_warm_alias),
            unit="ms",
        ),
        Row(
            f"get_latest_versions, warm p50, 1,000 versions{ml_where}",
            side.backend,
            _p50(warm_latest),
            _p50(ml_warm_latest),
            unit="ms",
        ),
        Row(
            f"resolve name@alias, cold process: client + first call{ml_where}",
            side.backend,
            _p50([c["alias"] for c in cold_ms]),
            _p50([c["alias"] for c in cold_ml]),
            "imports excluded; modelshelf with an empty cache",
            unit="ms",
        ),
        Row(
            f"latest, cold process: client + first get_latest_versions{ml_where}",
            side.backend,
            _p50([c["latest"] for c in cold_ms]),
            _p50([c["latest"] for c in cold_ml]),
            "imports excluded; after the alias call",
            unit="ms",
        ),
    ]
    for r in rows:
        out.append(r)
        print_row(r)


# --------------------------------------------------------------- 4: cold load by alias + predict
def train_model() -> Any:
    # skops (both libraries' default format) trusts these types without skops_trusted_types
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, FEATURES))
    y = (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(_frame(x), y)


def _frame(x: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])


def bench_load(side: Side, repeat: int, out: list[Row]) -> None:
    quiet()
    import mlflow
    import mlflow.sklearn

    import modelshelf

    model = train_model()
    side.ms_shelf(str(side.work / "ms-cache-clf"))
    with modelshelf.start_run():
        info = modelshelf.sklearn.log_model(model, name="model", registered_model_name="clf")
    modelshelf.MlflowClient().set_registered_model_alias(
        "clf", "champion", info.registered_model_version
    )
    exp = side.ml_experiment("clf")
    with mlflow.start_run(experiment_id=exp):
        mi = mlflow.sklearn.log_model(model, name="model", registered_model_name="clf")
    mlflow.MlflowClient().set_registered_model_alias("clf", "champion", mi.registered_model_version)
    ours = [child(side, "load", {"lib": "modelshelf"}, fresh_cache=True) for _ in range(repeat)]
    theirs = [child(side, "load", {"lib": "mlflow"}) for _ in range(repeat)]
    assert ours[0]["checksum"] == theirs[0]["checksum"], "predictions differ"
    for label, key, note in [
        (
            "cold process: load by alias + predict 10,000 rows, total wall",
            "wall",
            "interpreter start + import + load + predict; modelshelf with an empty cache",
        ),
        ("  of which load_model('models:/clf@champion')", "load", "imports excluded"),
        ("  of which import of the library", "import", ""),
        ("  of which predict on 10,000 rows", "predict", ""),
    ]:
        r = Row(
            label, side.backend, _p50([o[key] for o in ours]), _p50([t[key] for t in theirs]), note
        )
        out.append(r)
        print_row(r)


# ------------------------------------------------------ 5-6: import, log + register a small model
def bench_small(side: Side, repeat: int, out: list[Row]) -> None:
    quiet()
    side.ml_experiment("small")
    ours = [child(side, "small", {"lib": "modelshelf"}, fresh_cache=True) for _ in range(repeat)]
    theirs = [child(side, "small", {"lib": "mlflow"}) for _ in range(repeat)]
    for label, key in [
        (
            "log + register small sklearn model, inferred requirements (1st call in a process)",
            "first",
        ),
        ("log + register small sklearn model, inferred requirements (2nd call)", "second"),
    ]:
        r = Row(
            label,
            side.backend,
            _p50([o[key] for o in ours]),
            _p50([t[key] for t in theirs]),
            "imports and training excluded",
        )
        out.append(r)
        print_row(r)
    reqs = ours[0]["requirements"], theirs[0]["requirements"]
    print(f"  requirements: modelshelf {reqs[0]}  MLflow {reqs[1]}")


def bench_import(repeat: int, out: list[Row]) -> None:
    ours = [child(None, "import", {"lib": "modelshelf"}) for _ in range(repeat + 2)]
    theirs = [child(None, "import", {"lib": "mlflow"}) for _ in range(repeat + 2)]
    for label, key in [
        ("import in a fresh process", "import"),
        ("fresh process: interpreter + import, wall", "wall"),
    ]:
        r = Row(label, "–", _p50([o[key] for o in ours]), _p50([t[key] for t in theirs]), unit="ms")
        out.append(r)
        print_row(r)


# ------------------------------------------------------------------------------ child processes
def child(
    side: Side | None, kind: str, args: dict[str, Any], fresh_cache: bool = False
) -> dict[str, Any]:
    scratch = tempfile.mkdtemp(prefix="bench-cache-") if fresh_cache else None
    env = side.env(scratch) if side else dict(os.environ)
    if side:
        args = {**args, **side.spec()}
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {kind} {args.get('lib')} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def run_child(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    lib = args["lib"]
    if kind == "import":
        if lib == "mlflow":
            import mlflow  # noqa: F401
        else:
            import modelshelf  # noqa: F401
        return {"import": time.perf_counter() - t0}
    quiet()
    if lib == "mlflow":
        import mlflow
    else:
        import modelshelf
    t_import = time.perf_counter() - t0

    def shelf() -> Any:
        return modelshelf.set_shelf(args["shelf"], **args["options"])

    if kind == "resolve":
        t1 = time.perf_counter()
        if lib == "mlflow":
            client = mlflow.MlflowClient(
                tracking_uri=args["tracking"], registry_uri=args["tracking"]
            )
        else:
            client = modelshelf.MlflowClient(shelf())
        mv = client.get_model_version_by_alias("reg", "champion")
        t2 = time.perf_counter()
        latest = client.get_latest_versions("reg")
        t3 = time.perf_counter()
        assert str(mv.version) == "1000" and str(latest[0].version) == "1000"
        return {"import": t_import, "alias": t2 - t1, "latest": t3 - t2}
    if kind == "load":
        import numpy as np

        t1 = time.perf_counter()
        if lib == "mlflow":
            model = mlflow.pyfunc.load_model("models:/clf@champion")
        else:
            shelf()
            model = modelshelf.pyfunc.load_model("models:/clf@champion")
        t2 = time.perf_counter()
        x = np.random.default_rng(1).normal(size=(ROWS, FEATURES))
        data = _frame(x)
        t3 = time.perf_counter()
        pred = model.predict(data)
        t4 = time.perf_counter()
        return {
            "import": t_import,
            "load": t2 - t1,
            "predict": t4 - t3,
            "checksum": int(np.asarray(pred).sum()),
        }
    if kind == "small":
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        x, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=500).fit(x, y)
        times = []
        if lib == "mlflow":
            import mlflow.sklearn

            mlflow.set_tracking_uri(args["tracking"])
            mlflow.set_experiment("small")
            for _ in range(2):
                t = time.perf_counter()
                with mlflow.start_run():
                    info = mlflow.sklearn.log_model(
                        model, name="model", registered_model_name="small"
                    )
                times.append(time.perf_counter() - t)
            reqs = mlflow.pyfunc.get_model_dependencies(info.model_uri)
            reqs = Path(reqs).read_text().split()
        else:
            shelf()
            for _ in range(2):
                t = time.perf_counter()
                with modelshelf.start_run():
                    info = modelshelf.sklearn.log_model(
                        model, name="model", registered_model_name="small"
                    )
                times.append(time.perf_counter() - t)
            local = modelshelf.uri.local_model_dir(info.model_uri)
            reqs = (Path(local) / "requirements.txt").read_text().split()
        return {"import": t_import, "first": times[0], "second": times[1], "requirements": reqs}
    raise SystemExit(f"unknown child {kind}")


# ------------------------------------------------------------------------------------ output
def print_row(r: Row) -> None:
    print(
        f"  [{r.backend:5}] {r.workload:<78} modelshelf {fmt(r.ours, r.unit):>10}  "
        f"MLflow {fmt(r.theirs, r.unit):>10}  speed-up {r.speedup():>7}  {r.note}",
        flush=True,
    )


def print_table(rows: list[Row], header: str) -> None:
    print(f"\n{header}\n")
    print("| workload | backend | modelshelf | MLflow | speed-up (MLflow / modelshelf) | note |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r.workload} | {r.backend} | {fmt(r.ours, r.unit)} | {fmt(r.theirs, r.unit)} "
            f"| {r.speedup()} | {r.note} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller folders")
    parser.add_argument("--backends", default="local,moto", help="comma list: local,moto")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per cold row")
    parser.add_argument(
        "--only", default="folders,registry,load,small,import", help="comma list of workload groups"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], json.loads(args.child[1]))))
        return 0
    try:
        import mlflow
    except ImportError:
        print("mlflow is not installed: pip install 'modelshelf[bench]'")
        return 1
    quiet()
    os.environ["MODELSHELF_PROGRESS"] = "0"
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    only = set(args.only.split(","))
    trees = QUICK if args.quick else FULL
    rows: list[Row] = []
    started = time.perf_counter()
    load = os.getloadavg()
    print(
        f"{machine()}, MLflow {mlflow.__version__}; load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    if "import" in only:
        bench_import(args.repeat, rows)
    for backend in args.backends.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"bench-vs-mlflow-{backend}-"))
        try:
            if backend == "local":
                groups(Side("local", work, None, {}), only, trees, args.repeat, rows)
            elif backend == "moto":
                with moto_server() as (endpoint, options):
                    import boto3

                    boto3.client(
                        "s3", endpoint_url=endpoint, region_name="us-east-1"
                    ).create_bucket(Bucket="bench")
                    os.environ["MLFLOW_S3_ENDPOINT_URL"] = endpoint
                    try:
                        groups(
                            Side("moto", work, endpoint, options), only, trees, args.repeat, rows
                        )
                    finally:
                        os.environ.pop("MLFLOW_S3_ENDPOINT_URL", None)
            else:
                raise SystemExit(f"unknown backend {backend!r}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()
    print_table(
        rows,
        f"{machine()}, MLflow {mlflow.__version__}"
        f"{' (--quick)' if args.quick else ''}; load average {load[0]:.1f} at start,"
        f" {load_end[0]:.1f} at end; total {time.perf_counter() - started:.0f} s",
    )
    print("\nspeed-up = MLflow time / modelshelf time (above 1: modelshelf is faster)")
    return 0


def groups(
    side: Side, only: set[str], trees: dict[str, tuple[int, int]], repeat: int, rows: list[Row]
) -> None:
    print(f"-- backend {side.backend}", flush=True)
    if "folders" in only:
        bench_folders(side, trees, rows)
    if "registry" in only:
        bench_registry(side, repeat, rows)
    if "load" in only:
        bench_load(side, repeat, rows)
    if "small" in only:
        bench_small(side, repeat, rows)


if __name__ == "__main__":
    sys.exit(main())
