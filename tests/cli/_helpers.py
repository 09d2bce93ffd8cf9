"""Helpers for the CLI tests: a shelf with a really trained (tiny) sklearn model, logged and
registered through the library, and a runner that invokes ``modelshelf`` in-process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from modelshelf._shelf import reset_shelf
from modelshelf.runs import _fluent

MODEL = "cli-clf"


@dataclass
class Shelved:
    """A shelf with model ``MODEL`` (versions 1 and 2, ``@champion`` -> 1) and its inputs."""

    url: str
    options: dict[str, Any]
    run_id: str
    features: Any  # the DataFrame the model was trained on
    expected: list[int]  # the model's predictions on ``features.head(5)``

    def args(self) -> list[str]:
        """``--shelf`` and ``--storage-option`` arguments that name this shelf."""
        out = ["--shelf", self.url]
        for key, value in self.options.items():
            out += [
                "--storage-option",
                f"{key}={json.dumps(value) if not isinstance(value, str) else value}",
            ]
        return out


def build_shelf(url: str, options: dict[str, Any], cache: Path) -> Shelved:
    """Train a tiny classifier and log + register it twice on ``url`` (through the library)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import modelshelf

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] - 0.5 * X["b"] > 0).astype("int64")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(cache))  # never the user's ~/.cache
        mp.setenv("MODELSHELF_PROGRESS", "0")
        reset_shelf()
        _fluent._reset()
        try:
            modelshelf.set_shelf(url, **options)
            first = LogisticRegression().fit(X, y)
            with modelshelf.start_run(run_name="cli-first") as run:
                modelshelf.log_param("C", 1.0)
                modelshelf.log_metric("accuracy", float(first.score(X, y)))
                modelshelf.sklearn.log_model(
                    first, name="model", registered_model_name=MODEL, input_example=X.head(3)
                )
            second = LogisticRegression(C=0.1).fit(X, y)
            with modelshelf.start_run(run_name="cli-second"):
                modelshelf.sklearn.log_model(
                    second, name="model", registered_model_name=MODEL, input_example=X.head(3)
                )
            modelshelf.MlflowClient().set_registered_model_alias(MODEL, "champion", 1)
        finally:
            _fluent._reset()
            reset_shelf()
    expected = [int(v) for v in first.predict(X.head(5))]
    return Shelved(url, dict(options), run.info.run_id, X, expected)


class Cli:
    """Invoke ``modelshelf`` in-process, the way a shell would (stdout and stderr apart)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, args: Sequence[str], *, input: str | None = None) -> Result:
        from modelshelf.cli import cli

        return self.runner.invoke(
            cli, list(args), input=input, prog_name="modelshelf", catch_exceptions=False
        )

    def ok(self, args: Sequence[str], *, input: str | None = None) -> Result:
        """Invoke and assert exit code 0."""
        result = self(args, input=input)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, args: Sequence[str]) -> Any:
        """Invoke with ``--json``; the parsed stdout."""
        return json.loads(self.ok([*args, "--json"]).stdout)

    def fails(self, args: Sequence[str], code: int = 2) -> str:
        """Invoke, assert exit ``code`` and exactly one ``error:`` line on stderr; return it."""
        result = self(args)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]
