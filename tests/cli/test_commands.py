"""Every ``modelshelf`` command against a local shelf, human and ``--json`` output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._helpers import MODEL, Cli, Shelved


def test_models_list_and_show(cli: Cli, local: Shelved) -> None:
    out = cli.ok(["--shelf", local.url, "models", "list"]).stdout
    assert out.splitlines()[0].split()[:3] == ["NAME", "LATEST", "ALIASES"]
    assert MODEL in out and "@champion=1" in out

    models = cli.json(["models", "list", "--shelf", local.url])  # global options after, too
    assert [m["name"] for m in models] == [MODEL]
    assert models[0]["aliases"] == {"champion": 1}
    assert cli.json(["--shelf", local.url, "models", "list", "--filter", "name LIKE 'x%'"]) == []

    shown = cli.ok(["--shelf", local.url, "models", "show", MODEL]).stdout
    assert "champion = version 1" in shown and "@champion" in shown
    data = cli.json(["--shelf", local.url, "models", "show", MODEL])
    assert [v["version"] for v in data["versions"]] == [2, 1]


def test_models_history(cli: Cli, local: Shelved) -> None:
    changes = cli.json(["--shelf", local.url, "models", "history", MODEL])
    actions = [c["action"] for c in changes]
    assert actions == ["create_model", "create_version", "create_version", "set_alias"]
    later = cli.json(["--shelf", local.url, "models", "history", "--since", str(changes[1]["seq"])])
    assert [c["action"] for c in later] == actions[2:]
    table = cli.ok(["--shelf", local.url, "models", "history"]).stdout
    assert "set_alias" in table and "champion" in table


def test_versions_list_show_create_tag_delete(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    base = ["--shelf", local.url, "versions"]
    listed = cli.json([*base, "list", MODEL])
    assert [v["version"] for v in listed] == [2, 1]
    assert listed[1]["aliases"] == ["champion"]
    assert "@champion" in cli.ok([*base, "list", MODEL]).stdout

    one = cli.json([*base, "show", MODEL, "1"])
    assert cli.json([*base, "show", MODEL, "@champion"])["digest"] == one["digest"]
    assert cli.json([*base, "show", MODEL, "champion"])["version"] == 1
    assert cli.json([*base, "show", MODEL, "latest"])["version"] == 2
    assert one["digest"] in cli.ok([*base, "show", MODEL, "1"]).stdout

    # a new version from a run's model (same bytes: same digest), and a new model from a folder
    created = cli.json([*base, "create", MODEL, f"runs:/{local.run_id}/model", "--tag", "k=v"])
    assert created["version"] == 3 and created["digest"] == one["digest"]
    assert created["run_id"] == local.run_id and created["tags"] == {"k": "v"}
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00\x01")
    out = cli.ok([*base, "create", "other-model", str(folder)]).stdout
    assert out.startswith("created other-model version 1 (sha256:")

    assert "k2 = v2" in cli.ok([*base, "tag", MODEL, "3", "k2", "v2"]).stdout
    assert cli.json([*base, "show", MODEL, "3"])["tags"] == {"k": "v", "k2": "v2"}

    declined = cli([*base, "delete", MODEL, "1"], input="n\n")
    assert declined.exit_code == 2 and "aborted" in declined.stderr
    assert "@champion" in declined.stderr  # the prompt names what goes with the version
    assert cli.ok([*base, "delete", MODEL, "1"], input="y\n")
    assert cli.json([*base, "delete", MODEL, "3", "--yes"]) == {
        "name": MODEL,
        "version": 3,
        "deleted": True,
    }
    assert [v["version"] for v in cli.json([*base, "list", MODEL])] == [2]
    assert "versions list" in cli.fails([*base, "show", MODEL, "1"])


def test_alias_set_and_delete(cli: Cli, local: Shelved) -> None:
    base = ["--shelf", local.url, "alias"]
    assert cli.ok([*base, "set", MODEL, "champion", "2"]).stdout.strip() == (
        f"{MODEL}@champion -> version 2 (was 1)"
    )
    moved = cli.json(["--shelf", local.url, "versions", "show", MODEL, "@champion"])
    assert moved["version"] == 2
    assert cli.json([*base, "set", MODEL, "staging", "1"])["previous"] is None
    assert cli.json([*base, "delete", MODEL, "staging"])["previous"] == 1
    again = cli.ok([*base, "delete", MODEL, "staging"]).stdout
    assert "nothing to delete" in again
    line = cli.fails(["--shelf", local.url, "versions", "show", MODEL, "@staging"])
    assert "staging" in line


def test_download(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    out = cli.ok(["--shelf", local.url, "download", f"models:/{MODEL}@champion", str(dest)])
    assert Path(out.stdout.strip()) == dest
    assert (dest / "MLmodel").is_file() and (dest / "model.skops").is_file()
    data = cli.json(
        ["--shelf", local.url, "download", f"models:/{MODEL}/2/MLmodel", str(tmp_path / "one")]
    )
    assert Path(data["local_path"]).name == "MLmodel"


def test_artifacts_list_and_get(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    base = ["--shelf", local.url, "artifacts"]
    top = cli.json([*base, "list", local.run_id])
    assert top == [{"path": "model", "is_dir": True, "file_size": None}]
    inside = cli.ok([*base, "list", local.run_id, "model"]).stdout
    assert "model/MLmodel" in inside and "KiB" in inside
    got = cli.ok([*base, "get", local.run_id, "model/MLmodel", str(tmp_path / "a")]).stdout
    assert Path(got.strip()) == tmp_path / "a" / "model" / "MLmodel"
    assert "flavors:" in Path(got.strip()).read_text()
    assert "list them with" in cli.fails([*base, "get", local.run_id, "nope", str(tmp_path)])


def test_runs_list_and_show(cli: Cli, local: Shelved) -> None:
    runs = cli.json(["--shelf", local.url, "runs", "list"])
    assert {r["info"]["run_name"] for r in runs} == {"cli-first", "cli-second"}
    table = cli.ok(["--shelf", local.url, "runs", "list", "--filter", "params.C = '1.0'"]).stdout
    assert "cli-first" in table and "cli-second" not in table and "accuracy=" in table
    assert cli.json(["--shelf", local.url, "runs", "list", "--experiment", "nope"]) == []

    shown = cli.json(["--shelf", local.url, "runs", "show", local.run_id])
    assert shown["data"]["params"] == {"C": "1.0"}
    assert shown["logged_models"][0]["artifact_path"] == "model"
    text = cli.ok(["--shelf", local.url, "runs", "show", local.run_id]).stdout
    assert f"runs:/{local.run_id}/model" in text and "accuracy = " in text
    assert "runs list" in cli.fails(["--shelf", local.url, "runs", "show", "0" * 32])


def test_verify_ok_and_with_a_corrupt_blob(cli: Cli, local: Shelved) -> None:
    result = cli.ok(["--shelf", local.url, "verify", "--deep"])
    assert "no problems" in result.stdout
    assert cli.json(["--shelf", local.url, "verify"])["ok"] is True

    blobs = sorted(p for p in (Path(local.url) / "objects").rglob("*") if p.is_file())
    victim = max(blobs, key=lambda p: p.stat().st_size)  # the model file, not a manifest
    victim.chmod(0o644)
    victim.write_bytes(b"not the bytes you stored")
    bad = cli(["--shelf", local.url, "verify", "--deep", "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["problems"]
    assert any(victim.name in p["message"] for p in report["problems"])
    assert cli(["--shelf", local.url, "verify", "--deep"]).exit_code == 1


def test_env_var_names_the_shelf(cli: Cli, local: Shelved, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHELF_URI", local.url)
    assert [m["name"] for m in cli.json(["models", "list"])] == [MODEL]


def test_demo(cli: Cli, tmp_path: Path) -> None:
    shelf = str(tmp_path / "demo-shelf")
    out = cli.ok(["--shelf", shelf, "demo"]).stdout
    assert "@champion -> 1" in out and "no problems" in out
    assert cli.json(["--shelf", shelf, "models", "list"])[0]["aliases"] == {"champion": 1}
