"""Serving: ``modelshelf serve`` vs ``mlflow models serve`` on the same model, in one run.

The model is a scikit-learn LinearRegression on 8 double columns, logged with modelshelf and
registered as ``bench@champion`` on a local shelf. modelshelf serves ``models:/bench@champion``
(following the alias); MLflow serves the same model folder (the shelf's verified cache copy;
MLflow reads modelshelf's MLmodel unchanged) with ``--env-manager local``. Both run one uvicorn
worker on loopback. Each client is a thread with one keep-alive connection that posts a
``dataframe_split`` payload of ``--rows`` rows as fast as answers come back, for ``--seconds``;
we count answers (all must be 200) and take latency percentiles. Clients share the machine with
the server, so absolute numbers are low on a 2-core box; the comparison is the point.

    .venv/bin/python benchmarks/bench_serve.py [--clients 1,8,32] [--seconds 8] [--rows 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, print_table  # noqa: E402


def build(work: Path) -> tuple[str, Path]:
    """Log and register the model; returns (shelf url, local model folder)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelshelf
    from modelshelf.uri import local_model_dir

    shelf = str(work / "shelf")
    modelshelf.set_shelf(shelf)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 8)), columns=[f"x{i}" for i in range(8)])
    y = frame.to_numpy() @ rng.normal(size=8)
    with modelshelf.start_run():
        modelshelf.sklearn.log_model(
            LinearRegression().fit(frame, y),
            name="model",
            registered_model_name="bench",
            input_example=frame.head(3),
            pip_requirements=["scikit-learn"],
        )
    modelshelf.MlflowClient().set_registered_model_alias("bench", "champion", 1)
    folder = local_model_dir("models:/bench@champion")
    return shelf, folder


def payload(rows: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(1)
    data = rng.normal(size=(rows, 8)).round(6).tolist()
    return json.dumps(
        {"dataframe_split": {"columns": [f"x{i}" for i in range(8)], "data": data}}
    ).encode()


def start(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited:\n{log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{args[0]} did not answer /ping:\n{log.read_text()[-2000:]}")


def load(port: int, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal failures
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rows", type=int, default=10)
    opts = parser.parse_args()
    clients = [int(c) for c in opts.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        os.environ["MODELSHELF_CACHE_DIR"] = str(work / "cache")
        os.environ["MODELSHELF_PROGRESS"] = "0"
        shelf, folder = build(work)
        body = payload(opts.rows)
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        servers = {
            "modelshelf": lambda port: [
                sys.executable, "-m", "modelshelf.cli", "serve", "-m", "models:/bench@champion",
                "--shelf", shelf, "--port", str(port), "--workers", "1",
            ],
            "mlflow": lambda port: [
                str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", str(folder),
                "--env-manager", "local", "--port", str(port), "--host", "127.0.0.1",
                "--workers", "1",
            ],
        }  # fmt: skip
        results: dict[tuple[str, int], dict[str, float]] = {}
        for name, command in servers.items():
            port = free_port()
            proc = start(command(port), env, port, work / f"{name}.log")
            try:
                load(port, body, 2, 1.0)  # warm up
                for n in clients:
                    results[(name, n)] = load(port, body, n, opts.seconds)
                    print(name, n, results[(name, n)], flush=True)
            finally:
                proc.terminate()
                proc.wait(30)
    rows = []
    for n in clients:
        ours, theirs = results[("modelshelf", n)], results[("mlflow", n)]
        rows.append(
            [
                str(n),
                f"{ours['rps']:.0f}", f"{ours['p50']:.1f}", f"{ours['p99']:.1f}",
                f"{theirs['rps']:.0f}", f"{theirs['p50']:.1f}", f"{theirs['p99']:.1f}",
                f"{ours['rps'] / theirs['rps']:.2f}",
                str(int(ours["failures"] + theirs["failures"])),
            ]
        )  # fmt: skip
    print_table(
        [
            "clients", "modelshelf req/s", "p50 ms", "p99 ms", "MLflow req/s", "p50 ms",
            "p99 ms", "req/s ratio", "non-200",
        ],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
