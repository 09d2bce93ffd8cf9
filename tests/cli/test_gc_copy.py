"""``modelshelf gc`` and ``modelshelf copy`` (the library's GC and promotion, through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf
from tests.cli._helpers import MODEL, Cli, Shelved

pytest.importorskip("modelshelf.gc")


def _orphan(url: str) -> Path:
    """Store a blob nothing references; return its file."""
    digest = Shelf(url).blobs.put_bytes(b"nobody refers to these bytes")
    return Path(url) / "objects" / "sha256" / digest.hex[:2] / digest.hex


def test_gc_plans_then_deletes_only_old_unreferenced_blobs(
    cli: Cli, local: Shelved, monkeypatch: pytest.MonkeyPatch
) -> None:
    orphan = _orphan(local.url)
    assert orphan.is_file()

    fresh = cli.ok(["--shelf", local.url, "gc"]).stdout  # default grace 24h: the orphan is young
    assert "0 unreferenced blob(s)" in fresh and "1 unreferenced but younger" in fresh
    assert "dry run" in fresh

    plan = cli.json(["--shelf", local.url, "gc", "--grace", "0"])
    assert plan["executed"] is False and plan["result"] is None
    assert plan["plan"]["count"] == 1 and plan["plan"]["blobs"] == [f"sha256:{orphan.name}"]
    assert orphan.is_file()  # a dry run deletes nothing

    done = cli.ok(["--shelf", local.url, "gc", "--grace", "0", "--execute"]).stdout
    assert "quarantined 1 blob(s)" in done and "deleted 0 blob(s)" in done  # phase 1
    monkeypatch.setenv("MODELSHELF_GC_WINDOW", "0")
    monkeypatch.setenv("MODELSHELF_GC_CLOCK_SKEW", "0")
    final = cli.ok(["--shelf", local.url, "gc", "--grace", "0", "--execute"]).stdout
    assert "deleted 1 blob(s)" in final  # phase 2, once the writer window has passed
    assert not orphan.exists()
    assert "no problems" in cli.ok(["--shelf", local.url, "verify", "--deep"]).stdout
    source = Path(local.url).parent / "in.csv"
    local.features.head(5).to_csv(source, index=False)
    out = cli.ok(["--shelf", local.url, "predict", "-m", f"models:/{MODEL}/1", "-i", str(source)])
    assert json.loads(out.stdout)["predictions"] == local.expected


def test_copy_to_another_shelf(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    from modelshelf.client import Client

    if not hasattr(Client, "copy_model_version"):
        pytest.skip("promotion (Client.copy_model_version) has not landed")
    prod = str(tmp_path / "prod")
    source = cli.json(["--shelf", local.url, "versions", "show", MODEL, "@champion"])

    text = cli.ok(["--shelf", local.url, "copy", f"models:/{MODEL}@champion", "--to", prod]).stdout
    assert text.startswith(f"copied models:/{MODEL}@champion -> {prod}: {MODEL} version 1")
    copied = cli.json(["--shelf", prod, "versions", "show", MODEL, "1"])
    assert copied["digest"] == source["digest"]
    assert copied["tags"]["modelshelf.source_version"] == "1"

    renamed = cli.json(
        [
            "--shelf",
            local.url,
            "copy",
            f"models:/{MODEL}/2",
            "--to",
            prod,
            "--name",
            "promoted",
            "--tag",
            "ticket=OPS-1",
        ]
    )
    assert renamed["name"] == "promoted" and renamed["tags"]["ticket"] == "OPS-1"

    csv = tmp_path / "in.csv"
    local.features.head(5).to_csv(csv, index=False)
    out = cli.ok(["--shelf", prod, "predict", "-m", f"models:/{MODEL}/1", "-i", str(csv)])
    assert json.loads(out.stdout)["predictions"] == local.expected

    line = cli.fails(["--shelf", local.url, "copy", f"runs:/{local.run_id}/model", "--to", prod])
    assert "--name" in line
    assert "'nope'" in cli.fails(["--shelf", local.url, "copy", "models:/nope/1", "--to", prod])


@pytest.mark.slow
@pytest.mark.xdist_group("moto")
def test_copy_from_s3_to_local_and_gc_on_s3(cli: Cli, s3: Shelved, tmp_path: Path) -> None:
    from modelshelf.client import Client

    if not hasattr(Client, "copy_model_version"):
        pytest.skip("promotion (Client.copy_model_version) has not landed")
    local_dst = str(tmp_path / "from-s3")
    cli.ok([*s3.args(), "copy", f"models:/{MODEL}@champion", "--to", local_dst])
    assert cli.json(["--shelf", local_dst, "models", "list"])[0]["name"] == MODEL
    plan = cli.json([*s3.args(), "gc", "--grace", "7d"])
    assert plan["plan"]["count"] == 0 and plan["plan"]["kept"] > 0
