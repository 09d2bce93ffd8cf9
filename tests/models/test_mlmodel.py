"""MLmodel <-> Model: MLflow 3.x shapes on write, 1.x–3.x shapes on read, typed errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from modelshelf.errors import MalformedMetadataError, NotFoundError
from modelshelf.models import MLFLOW_FORMAT_VERSION, Model, ModelSignature

SIG = {
    "inputs": '[{"type": "double", "name": "x", "required": true}]',
    "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]',
    "params": '[{"name": "k", "default": 1, "shape": null, "type": "long"}]',
}


def _pyfunc_model(**kw: object) -> Model:
    m = Model(**kw)  # type: ignore[arg-type]
    m.add_flavor("python_function", loader_module="mlflow.pyfunc.model", python_version="3.11.7")
    return m


def test_fresh_model_writes_mlflow3_keys() -> None:
    d = yaml.safe_load(_pyfunc_model().to_yaml())
    assert set(d) == {
        "flavors",
        "mlflow_version",
        "model_id",
        "model_uuid",
        "prompts",
        "utc_time_created",
    }
    assert d["model_id"] is None and d["prompts"] is None
    assert d["mlflow_version"] == MLFLOW_FORMAT_VERSION
    assert re.fullmatch(r"[0-9a-f]{32}", d["model_uuid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", d["utc_time_created"])


def test_yaml_text_is_sorted_block_style_with_quoted_time() -> None:
    text = _pyfunc_model(utc_time_created="2026-01-02 03:04:05.123456").to_yaml()
    top = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert top == sorted(top)
    assert "utc_time_created: '2026-01-02 03:04:05.123456'" in text
    assert "{" not in text.split("signature")[0]  # block style, no flow mappings


def test_signature_written_as_json_strings_plus_type_hint_flags() -> None:
    m = _pyfunc_model(signature=ModelSignature.from_dict(SIG))
    d = yaml.safe_load(m.to_yaml())
    assert d["signature"] == SIG
    assert d["is_signature_from_type_hint"] is False
    assert d["type_hint_from_example"] is False


def test_run_id_and_artifact_path_only_when_logged() -> None:
    assert "run_id" not in _pyfunc_model().to_dict()
    d = _pyfunc_model(run_id="a" * 32, artifact_path="model").to_dict()
    assert d["run_id"] == "a" * 32 and d["artifact_path"] == "model"


def test_round_trip_keeps_unknown_keys_and_is_identical(tmp_path: Path) -> None:
    doc = {
        "artifact_path": "mlflow-artifacts:/1/models/m-0123/artifacts",
        "databricks_runtime": "15.4",
        "env_vars": ["OPENAI_API_KEY"],
        "flavors": {"python_function": {"loader_module": "m", "weird": [1, {"a": 2}]}},
        "future_key": {"nested": True},
        "is_signature_from_type_hint": False,
        "metadata": {"foo": "bar"},
        "mlflow_version": MLFLOW_FORMAT_VERSION,
        "model_id": "m-" + "0" * 32,
        "model_size_bytes": 12,
        "model_uuid": "m-" + "0" * 32,
        "prompts": ["prompts:/p/1"],
        "resources": {"api_version": "1"},
        "run_id": "f" * 32,
        "saved_input_example_info": {"artifact_path": "input_example.json", "type": "ndarray"},
        "signature": SIG,
        "type_hint_from_example": False,
        "utc_time_created": "2026-01-02 03:04:05",
    }
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(doc))
    m = Model.load(tmp_path)
    assert yaml.safe_load(m.to_yaml()) == doc
    m.save(tmp_path / "MLmodel2")
    assert Model.load(tmp_path / "MLmodel2") == m


@pytest.mark.parametrize(
    "text",
    [
        # 1.x: env as a string, no model_id/prompts, signature without params, no required
        (
            "artifact_path: model\nflavors:\n  python_function:\n    env: conda.yaml\n"
            "    loader_module: mlflow.sklearn\n    model_path: model.pkl\n    python_version: 3.8.10\n"
            "  sklearn:\n    pickled_model: model.pkl\n    sklearn_version: 1.0.2\n"
            "mlflow_version: 1.30.1\nmodel_uuid: 7c4a\nrun_id: abc\n"
            'signature:\n  inputs: \'[{"name": "x", "type": "double"}]\'\n'
            "  outputs: '[{\"type\": \"double\"}]'\nutc_time_created: '2022-01-01 00:00:00.000001'\n"
        ),
        # minimal file MLflow 3.17 loads
        "flavors:\n  python_function:\n    loader_module: m\n",
        # explicit nulls
        (
            "flavors:\n  python_function:\n    loader_module: m\n    code: null\n"
            "model_id: null\nprompts: null\nmetadata: null\nsignature: null\n"
        ),
    ],
)
def test_reads_older_and_minimal_shapes(tmp_path: Path, text: str) -> None:
    (tmp_path / "MLmodel").write_text(text)
    m = Model.load(tmp_path / "MLmodel")
    assert "python_function" in m.flavors
    again = yaml.safe_load(m.to_yaml())
    for key, value in yaml.safe_load(text).items():
        if value is not None and key != "signature":
            assert again[key] == value


def test_minimal_file_keeps_missing_uuid_and_version_as_none(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: m\n")
    m = Model.load(tmp_path)
    assert m.model_uuid is None and m.mlflow_version is None
    assert "mlflow_version" not in m.to_dict()


def test_legacy_signature_shapes_parse(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: m\nsignature:\n"
        '  inputs: \'[{"name": "x", "type": "double", "optional": true}]\'\n'
        "  outputs: null\n"
    )
    m = Model.load(tmp_path)
    schema = m.get_input_schema()
    assert schema is not None and schema.input_names() == ["x"]
    assert m.get_output_schema() is None and m.get_params_schema() is None


def test_schema_getters_without_signature() -> None:
    m = _pyfunc_model()
    assert m.get_input_schema() is None and m.get_output_schema() is None
    assert m.get_params_schema() is None
    assert m.load_input_example(".") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("flavors: [a\n", "not valid YAML (line"),
        ("- just\n- a list\n", "must hold a YAML mapping"),
        ("", "must hold a YAML mapping"),
        ("model_uuid: x\n", "no 'flavors' mapping"),
        ("flavors: {}\n", "no 'flavors' mapping"),
        ("flavors:\n  python_function: 3\n", "flavor 'python_function' must be a mapping"),
        ("flavors:\n  python_function: {}\nsignature: nope\n", "'signature' must be a mapping"),
        (
            "flavors:\n  python_function: {}\nsignature:\n  inputs: '[{\"type\": '\n",
            "invalid signature",
        ),
        (
            'flavors:\n  python_function: {}\nsignature:\n  inputs: \'[{"type": "nonsense"}]\'\n',
            "invalid signature",
        ),
        (
            "flavors:\n  python_function: {}\nsaved_input_example_info: 3\n",
            "saved_input_example_info",
        ),
    ],
)
def test_malformed_files_raise_typed_errors_naming_the_file(
    tmp_path: Path, text: str, needle: str
) -> None:
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(MalformedMetadataError) as info:
        Model.load(tmp_path)
    assert needle in str(info.value)
    assert str(tmp_path / "MLmodel") in str(info.value)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="Could not find an MLmodel"):
        Model.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        Model.load(tmp_path / "nope" / "MLmodel")


def test_add_flavor_replaces_and_chains() -> None:
    m = Model().add_flavor("a", x=1).add_flavor("a", y=2)
    assert m.flavors == {"a": {"y": 2}}


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, modelshelf.models; print(sorted(m for m in ('numpy','pandas','mlflow','sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
