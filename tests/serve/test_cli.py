"""The ``serve`` command's own checks, in-process (no server is started)."""

from __future__ import annotations

from click.testing import CliRunner

from modelshelf.cli import cli


def test_serve_is_also_models_serve_and_checks_its_options() -> None:
    runner = CliRunner()
    for args in (["serve", "--help"], ["models", "serve", "--help"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "--poll-interval" in result.output and "127.0.0.1" in result.output
    bad = runner.invoke(cli, ["serve", "-m", "models:/x@a", "--max-body-size", "lots"])
    assert bad.exit_code == 2 and "not a size" in bad.output
    bad = runner.invoke(cli, ["serve", "-m", "models:/x@a", "--model-config", "[1]"])
    assert bad.exit_code == 2 and "must be a JSON object" in bad.output + str(bad.stderr)
