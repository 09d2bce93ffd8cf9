"""Known errors are one ``error:`` line and exit 2; ``--debug`` adds the traceback; bugs exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelshelf.cli._context import parse_duration, parse_key_values
from tests.cli._helpers import MODEL, Cli, Shelved

HEAVY = ["pandas", "pyarrow", "numpy", "sklearn", "s3fs", "botocore", "gcsfs", "adlfs", "torch"]


def test_unknown_model_is_one_line(cli: Cli, local: Shelved) -> None:
    line = cli.fails(["--shelf", local.url, "models", "show", "nope"])
    assert "'nope'" in line and "modelshelf models list" in line
    assert "versions" in cli.fails(["--shelf", local.url, "versions", "show", MODEL, "9"])
    assert "aliases" in cli.fails(["--shelf", local.url, "versions", "show", MODEL, "@gone"])


def test_bad_uri_is_one_line(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    line = cli.fails(["--shelf", local.url, "download", "models:/x@@", str(tmp_path)])
    assert "models:/x@@" in line
    assert "sha256:xyz" in cli.fails(
        ["--shelf", local.url, "download", "sha256:xyz", str(tmp_path)]
    )


def test_bad_duration_is_one_line(cli: Cli, local: Shelved) -> None:
    line = cli.fails(["--shelf", local.url, "gc", "--grace", "5x"])
    assert "'5x'" in line and "--grace" in line and "modelshelf gc --help" in line
    assert "unit" in cli.fails(["--shelf", local.url, "gc", "--grace", "12"])


def test_usage_errors_are_one_line(cli: Cli, local: Shelved) -> None:
    assert "Missing argument" in cli.fails(["--shelf", local.url, "versions", "show", MODEL])
    assert "No such command" in cli.fails(["nope"])
    assert "KEY=VALUE" in cli.fails(["--storage-option", "novalue", "models", "list"])
    assert "not a valid integer" in cli.fails(
        ["--shelf", local.url, "alias", "set", MODEL, "a", "x"]
    )


def test_debug_shows_the_traceback(cli: Cli, local: Shelved) -> None:
    result = cli(["--shelf", local.url, "models", "show", "nope", "--debug"])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "ModelNotFoundError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


def test_an_unexpected_error_prints_the_traceback_and_exits_3(
    cli: Cli, local: Shelved, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelshelf.client import Client

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(Client, "search_registered_models", boom)
    result = cli(["--shelf", local.url, "models", "list"])
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "unexpected ZeroDivisionError: boom" in result.stderr


def test_unreachable_s3_is_one_line(cli: Cli) -> None:
    pytest.importorskip("s3fs")
    line = cli.fails([
        "--shelf", "s3://no-such-bucket/shelf",
        "--storage-option", "endpoint_url=http://127.0.0.1:9",
        "--storage-option", "key=k", "--storage-option", "secret=s",
        "--storage-option", 'config_kwargs={"retries": {"max_attempts": 1}}',
        "models", "list",
    ])  # fmt: skip
    assert line.startswith("error: ")


def test_parse_duration() -> None:
    assert parse_duration("0").total_seconds() == 0
    assert parse_duration("30m").total_seconds() == 1800
    assert parse_duration("24h").total_seconds() == 86400
    assert parse_duration("7d").total_seconds() == 7 * 86400
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("1.5h").total_seconds() == 5400
    for bad in ("", "5", "h", "5x", "1h 2", "-1h", "1d2"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_parse_storage_options() -> None:
    parsed = parse_key_values(
        ["anon=true", "endpoint_url=http://h:1", 'client_kwargs={"region_name": "eu"}', "n=3",
         'key="123"', "empty="], "--storage-option",
    )  # fmt: skip
    assert parsed == {
        "anon": True,
        "endpoint_url": "http://h:1",
        "client_kwargs": {"region_name": "eu"},
        "n": 3,
        "key": "123",
        "empty": "",
    }


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, json\n"
        "from modelshelf.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: modelshelf" in out.stdout
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_python_dash_m(local: Shelved, tmp_path: Path) -> None:
    env = {**os.environ, "MODELSHELF_URI": local.url}
    ok = subprocess.run(
        [sys.executable, "-m", "modelshelf.cli", "models", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert [m["name"] for m in json.loads(ok.stdout)] == [MODEL]
    bad = subprocess.run(
        [sys.executable, "-m", "modelshelf.cli", "models", "show", "nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
