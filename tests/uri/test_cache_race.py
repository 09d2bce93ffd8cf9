"""Several processes fill, check and repair one cache at once: every load gets the verified
bytes, and none fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from modelshelf._shelf import Shelf

LOADER = r"""
import hashlib, json, os, sys, time
from modelshelf._shelf import Shelf
from modelshelf.uri import local_model_dir, verify_cache
shelf_url, uri, start, role, rounds = sys.argv[1:6]
shelf = Shelf(shelf_url)
while time.time() < float(start):
    time.sleep(0.001)
out = []
for _ in range(int(rounds)):
    if role == "verify":
        verify_cache(shelf)
        continue
    folder = local_model_dir(uri, shelf)
    out.append({
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*") if p.is_file()
    })
print(json.dumps(out))
"""


def test_concurrent_loads_and_checks_of_one_cache(local_shelf: Shelf, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {f"part-{i}.bin": os.urandom(64 << 10) for i in range(20)} | {"sub/x": b"x"}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    uri = f"sha256:{local_shelf.blobs.put_tree(src).hex}"
    import hashlib

    expected = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    start = str(time.time() + 3)
    roles = ["load", "load", "load", "verify"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER, local_shelf.url, uri, start, role, "8"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in roles
    ]
    for proc, role in zip(procs, roles):
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        if role == "load":
            loads = json.loads(stdout)
            assert len(loads) == 8 and all(seen == expected for seen in loads)
