"""The main commands against S3 on moto, with the endpoint and credentials given as
``--storage-option``s (one shelf for the session: tests add to it but change nothing made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._helpers import MODEL, Cli, Shelved

pytest.importorskip("s3fs")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("moto")]


def test_list_and_show(cli: Cli, s3: Shelved) -> None:
    assert [m["name"] for m in cli.json([*s3.args(), "models", "list"])] == [MODEL]
    assert "champion = version 1" in cli.ok([*s3.args(), "models", "show", MODEL]).stdout
    listed = cli.json(["versions", "list", MODEL, *s3.args()])  # options after the command
    assert [v["version"] for v in listed] == [2, 1]
    assert len(cli.json([*s3.args(), "runs", "list"])) == 2
    assert cli.json([*s3.args(), "artifacts", "list", s3.run_id])[0]["path"] == "model"


def test_alias_moves(cli: Cli, s3: Shelved) -> None:
    cli.ok([*s3.args(), "alias", "set", MODEL, "canary", "2"])
    assert cli.json([*s3.args(), "versions", "show", MODEL, "@canary"])["version"] == 2
    cli.ok([*s3.args(), "alias", "delete", MODEL, "canary"])
    assert "canary" in cli.fails([*s3.args(), "versions", "show", MODEL, "@canary"])


def test_download_and_predict(cli: Cli, s3: Shelved, tmp_path: Path) -> None:
    dest = tmp_path / "model"
    cli.ok([*s3.args(), "download", f"models:/{MODEL}@champion", str(dest)])
    assert (dest / "MLmodel").is_file()
    source = tmp_path / "in.csv"
    s3.features.head(5).to_csv(source, index=False)
    out = cli.ok([*s3.args(), "predict", "-m", f"models:/{MODEL}@champion", "-i", str(source)])
    assert json.loads(out.stdout)["predictions"] == s3.expected


def test_verify_and_errors(cli: Cli, s3: Shelved) -> None:
    report = cli.json([*s3.args(), "verify", "--deep"])
    assert report["ok"] is True and report["blobs"] > 0
    assert "'nope'" in cli.fails([*s3.args(), "models", "show", "nope"])
    missing = ["--shelf", "s3://no-such-bucket/shelf", *s3.args()[2:]]
    line = cli.fails([*missing, "models", "list"])
    assert "no-such-bucket" in line
