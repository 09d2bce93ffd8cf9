"""``modelshelf predict``: every input and output format, MLflow serving payloads, real predictions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.cli._helpers import MODEL, Cli, Shelved

URI = f"models:/{MODEL}@champion"


def _payloads(frame: pd.DataFrame) -> dict[str, Any]:
    split = json.loads(frame.to_json(orient="split", index=False))
    records = frame.to_dict(orient="records")
    return {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_records": {"dataframe_records": records},
        "inputs": {"inputs": {c: frame[c].tolist() for c in frame.columns}},
        "instances": {"instances": records},
        "split": split,  # a logged input_example.json
        "records": records,
    }


@pytest.mark.parametrize("kind", list(_payloads(pd.DataFrame({"a": [0.0]}))))
def test_json_payloads(cli: Cli, local: Shelved, tmp_path: Path, kind: str) -> None:
    frame = local.features.head(5)
    path = tmp_path / "input.json"
    path.write_text(json.dumps(_payloads(frame)[kind]))
    out = cli.ok(["--shelf", local.url, "predict", "-m", URI, "-i", str(path)]).stdout
    assert json.loads(out) == {"predictions": local.expected}


def test_stdin(cli: Cli, local: Shelved) -> None:
    payload = json.dumps({"dataframe_records": local.features.head(5).to_dict(orient="records")})
    out = cli.ok(["--shelf", local.url, "predict", "-m", URI, "-i", "-"], input=payload).stdout
    assert json.loads(out)["predictions"] == local.expected


def test_csv_and_parquet_in_and_out(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    frame = local.features.head(5)
    csv_in, parquet_in = tmp_path / "in.csv", tmp_path / "in.parquet"
    frame.to_csv(csv_in, index=False)
    frame.to_parquet(parquet_in, index=False)
    base = ["--shelf", local.url, "predict", "-m", f"models:/{MODEL}/1"]

    out = tmp_path / "out" / "p.parquet"
    text = cli.ok([*base, "-i", str(csv_in), "-o", str(out)]).stdout
    assert text.strip() == f"wrote 5 predictions to {out}"
    assert pd.read_parquet(out)["prediction"].tolist() == local.expected

    out_csv = tmp_path / "p.csv"
    assert cli.json([*base, "-i", str(parquet_in), "-o", str(out_csv)]) == {
        "output_path": str(out_csv),
        "rows": 5,
    }
    assert pd.read_csv(out_csv)["prediction"].tolist() == local.expected

    out_json = tmp_path / "p.json"
    cli.ok([*base, "-i", str(csv_in), "-o", str(out_json)])
    assert json.loads(out_json.read_text()) == {"predictions": local.expected}
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no staging files left behind


def test_bad_inputs_are_one_line(cli: Cli, local: Shelved, tmp_path: Path) -> None:
    base = ["--shelf", local.url, "predict", "-m", URI]
    txt = tmp_path / "x.txt"
    txt.write_text("a,b\n1,2\n")
    assert "unknown input format '.txt'" in cli.fails([*base, "-i", str(txt)])
    assert "does not exist" in cli.fails([*base, "-i", str(tmp_path / "missing.csv")])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in cli.fails([*base, "-i", str(broken)])
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"rows": []}))
    assert "dataframe_split" in cli.fails([*base, "-i", str(wrong)])
    good = tmp_path / "good.csv"
    local.features.head(2).to_csv(good, index=False)
    assert "unknown output format" in cli.fails([*base, "-i", str(good), "-o", "out.xlsx"])
    missing = tmp_path / "missing-column.csv"
    local.features.head(2)[["a"]].to_csv(missing, index=False)
    assert "'b'" in cli.fails([*base, "-i", str(missing)])  # schema enforcement names it
    assert "'nope'" in cli.fails(
        ["--shelf", local.url, "predict", "-m", "models:/nope/1", "-i", str(good)]
    )
