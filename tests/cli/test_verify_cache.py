"""``modelshelf verify --cache``: the cache check from the shell, human and ``--json``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli._helpers import MODEL, Cli, Shelved


def test_verify_cache_reports_and_repairs(
    cli: Cli, local: Shelved, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MODELSHELF_CACHE_DIR", str(cache))
    cli.ok([*local.args(), "download", f"models:/{MODEL}/1", str(tmp_path / "dl")])
    clean = cli.json([*local.args(), "verify", "--cache"])
    assert clean["ok"] is True and clean["bad"] == 0 and clean["checked"] > 3
    assert clean["cache"] == str(cache)

    blob = max((p for p in (cache / "blobs").rglob("*") if p.is_file()), key=os.path.getsize)
    st = os.stat(blob)
    os.chmod(blob, 0o600)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    os.chmod(blob, stat.S_IMODE(st.st_mode))
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns))

    bad = cli([*local.args(), "verify", "--cache", "--json"])
    assert bad.exit_code == 1
    import json

    report = json.loads(bad.stdout)
    assert (report["ok"], report["bad"], report["repaired"]) == (False, 1, 1)
    assert report["problems"][0]["action"] == "refetched"
    assert "content changed" in report["problems"][0]["message"]

    human = cli.ok([*local.args(), "verify", "--cache"]).stdout
    assert "entries checked, 0 bad, 0 repaired" in human
