"""What signing costs: ``create_model_version`` and a cold ``models:/name@alias`` resolve,
unsigned (no keys, as before) against signed (writer key; reader with trusted keys), on a
local shelf and on S3 (moto's server on 127.0.0.1).

The history is 150 commits with a checkpoint every 100, so a cold resolve loads one
checkpoint and verifies a 50-commit tail (50 ECDSA P-256 signatures + the manifest's).
"Cold" is a new replica in a process that already imported everything, with the local
checkpoint cache kept (a new process on the same machine); imports are excluded.

Usage::

    .venv/bin/python benchmarks/bench_signing.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

CREATE_N = 30
COLD_N = 15
COMMITS = 150


def _p50(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.2f} ms"


def _model(root: Path) -> Path:
    d = root / "model"
    d.mkdir(parents=True, exist_ok=True)
    (d / "MLmodel").write_text("flavors: {}\n")
    (d / "model.pkl").write_bytes(os.urandom(64 << 10))
    return d


def create(url: str, options: dict[str, Any], model: Path, key: str | None) -> list[float]:
    from modelshelf.registry import RegistryClient

    client = RegistryClient(url, signing_key=key, **options)
    client.create_registered_model("bench")
    client.create_model_version("bench", str(model))  # the probe and the upload
    out = []
    for _ in range(CREATE_N):
        t = time.perf_counter()
        client.create_model_version("bench", str(model))
        out.append(time.perf_counter() - t)
    return out


def build(url: str, options: dict[str, Any], model: Path, key: str | None) -> None:
    from modelshelf.registry import RegistryClient

    client = RegistryClient(url, signing_key=key, **options)
    client.create_registered_model("big")
    digest = str(client.shelf.blobs.put_tree(model))
    for _ in range(COMMITS - 2):
        client.create_model_version("big", digest)
    client.set_registered_model_alias("big", "champion", 3)


def cold(url: str, options: dict[str, Any], trusted: list[str] | None) -> list[float]:
    from modelshelf.registry import RegistryClient
    from modelshelf.registry._replica import clear_replicas

    out = []
    for _ in range(COLD_N + 1):
        clear_replicas()
        t = time.perf_counter()
        RegistryClient(url, trusted_keys=trusted, **options).resolve_model_uri(
            "models:/big@champion"
        )
        out.append(time.perf_counter() - t)
    return out[1:]  # the first fills the checkpoint cache


def main() -> None:
    from bench_registry import start_moto

    from modelshelf.signing import generate_key_pair

    tmp = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    os.environ["MODELSHELF_CACHE_DIR"] = str(tmp / "cache")
    private, public, _ = generate_key_pair(tmp / "key.pem")
    model = _model(tmp)
    server, s3 = start_moto()
    rows = []
    try:
        for where, base, options in (
            ("local", str(tmp / "shelves"), {}),
            ("S3 (moto)", "s3://bench", s3),
        ):
            plain = create(f"{base}/create-plain", options, model, None)
            signed = create(f"{base}/create-signed", options, model, str(private))
            rows.append((f"create_model_version, {where}", _p50(plain), _p50(signed)))
            build(f"{base}/big-plain", options, model, None)
            build(f"{base}/big-signed", options, model, str(private))
            unsigned = cold(f"{base}/big-plain", options, None)
            trusted = cold(f"{base}/big-signed", options, [str(public)])
            rows.append((f"cold models:/big@champion, {where}", _p50(unsigned), _p50(trusted)))
    finally:
        server.stop()
    print(f"{'p50':44} {'unsigned':>12} {'signed':>12}")
    for name, a, b in rows:
        print(f"{name:44} {a:>12} {b:>12}")


if __name__ == "__main__":
    main()
