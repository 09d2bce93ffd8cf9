"""``verify`` names a hole, writes refuse it in one line, ``repair`` plans then fixes it; and
out-of-range numbers and durations are one-line usage errors, not tracebacks."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelshelf.cli._context import MAX_DURATION, parse_duration
from modelshelf.registry._log import log_key
from modelshelf.registry._replica import clear_replicas
from tests.cli._helpers import MODEL, Cli, Shelved


def _commits(url: str) -> list[str]:
    return sorted(p.name for p in (Path(url) / "registry" / "log").iterdir())


def test_a_hole_is_named_refused_and_repaired(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    shutil.copytree(local.url, backup)
    (Path(local.url) / log_key(2)).unlink()
    clear_replicas()
    line = cli.fails(["--shelf", local.url, "alias", "set", MODEL, "hole", "1"])
    assert "commit 2" in line and "modelshelf repair" in line
    report = cli(["--shelf", local.url, "verify", "--json"])
    assert report.exit_code == 1
    problems = json.loads(report.stdout)["problems"]
    assert (problems[0]["seq"], problems[0]["key"]) == (2, log_key(2))
    before = _commits(local.url)
    dry = cli(["--shelf", local.url, "repair"])  # no copy, no --truncate: a plan that cannot
    assert dry.exit_code == 1 and "--truncate" in dry.stdout
    assert _commits(local.url) == before
    planned = cli.ok(["--shelf", local.url, "repair", "--from", str(backup)]).stdout
    assert f"restore {log_key(2)}" in planned and "dry run" in planned
    assert _commits(local.url) == before
    cli.ok(["--shelf", local.url, "repair", "--from", str(backup), "--execute"])
    cli.ok(["--shelf", local.url, "verify"])
    cli.ok(["--shelf", local.url, "alias", "set", MODEL, "hole", "1"])


def test_a_damaged_hint_is_reported_and_rewritten(cli: Cli, local: Shelved) -> None:
    hint = Path(local.url) / "registry" / "_latest"
    hint.write_text('{"seq": "nine"}')
    report = cli(["--shelf", local.url, "verify"])
    assert report.exit_code == 1 and "_latest hint is damaged" in report.stdout
    cli.ok(["--shelf", local.url, "repair", "--execute"])
    cli.ok(["--shelf", local.url, "verify"])


@pytest.mark.parametrize(
    "grace", ["99999999999999999999d", "999999999d", "36501d", "9" * 400 + "w", "1e9d"]
)
def test_out_of_range_durations_are_one_line_usage_errors(
    cli: Cli, local: Shelved, grace: str
) -> None:
    line = cli.fails(["--shelf", local.url, "gc", "--grace", grace])
    assert "--grace" in line and "modelshelf gc --help" in line


def test_out_of_range_numbers_are_one_line_errors(cli: Cli, local: Shelved) -> None:
    huge = "9" * 30
    for args in (
        ["versions", "show", MODEL, huge],
        ["alias", "set", MODEL, "a", huge],
        ["versions", "delete", MODEL, huge, "--yes"],
    ):
        assert "does not exist" in cli.fails(["--shelf", local.url, *args])
    cli.ok(["--shelf", local.url, "runs", "list", "--max-results", huge])
    cli.ok(["--shelf", local.url, "models", "history", "--since", huge])


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30) | st.from_regex(r"\A[0-9.]{1,40}[smhdw]{0,2}\Z"))
def test_parse_duration_returns_a_bounded_timedelta_or_a_value_error(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert str(exc).startswith(("not a duration", "duration ")), exc
        return
    assert timedelta(0) <= value <= MAX_DURATION
