"""Broken model metadata gets MalformedMetadataError (never RecursionError, TypeError, a hang…):
MLmodel files, signature JSON, input examples and loader modules, fixed cases and Hypothesis."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelshelf
from modelshelf.errors import MalformedMetadataError, ModelshelfError, NotFoundError
from modelshelf.models import Model
from modelshelf.models._mlmodel import MAX_MLMODEL_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES
from modelshelf.models.signature import ModelSignature

FLAVORS = "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"


def _model_dir(tmp_path: Path, mlmodel: str | bytes) -> Path:
    root = tmp_path / "m"
    root.mkdir(exist_ok=True)
    data = mlmodel.encode() if isinstance(mlmodel, str) else mlmodel
    (root / "MLmodel").write_bytes(data)
    return root


# ------------------------------------------------------------------------- reported cases
def test_deeply_nested_mlmodel_is_malformed_not_a_recursion_error(tmp_path: Path) -> None:
    text = FLAVORS + "metadata: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(MalformedMetadataError, match=f"deeper than {MAX_YAML_DEPTH}"):
        Model.load(_model_dir(tmp_path, text))
    with pytest.raises(MalformedMetadataError):
        modelshelf.pyfunc.load_model(str(tmp_path / "m"))
    ok = FLAVORS + "deep: " + "[" * (MAX_YAML_DEPTH - 2) + "]" * (MAX_YAML_DEPTH - 2) + "\n"
    deep = Model.from_yaml(ok).extra["deep"]
    for _ in range(MAX_YAML_DEPTH - 3):
        deep = deep[0]
    assert deep == []


def test_relative_loader_module_is_malformed_not_a_type_error(tmp_path: Path) -> None:
    for bad in ("..os", ".os", "os..path", "", "1abc", "a-b", "class.x", "[os]"):
        text = f"flavors:\n  python_function:\n    loader_module: {json.dumps(bad)}\n"
        with pytest.raises(MalformedMetadataError, match="loader_module"):
            modelshelf.pyfunc.load_model(str(_model_dir(tmp_path, text)))
    text = "flavors:\n  python_function:\n    loader_module: [os]\n"
    with pytest.raises(MalformedMetadataError):
        modelshelf.pyfunc.load_model(str(_model_dir(tmp_path, text)))


def test_mlmodel_that_is_a_directory_or_a_fifo(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "MLmodel").mkdir(parents=True)
    with pytest.raises(MalformedMetadataError, match="is a directory"):
        Model.load(root)
    with pytest.raises(MalformedMetadataError, match="is a directory"):
        modelshelf.pyfunc.load_model(str(root))
    fifo = tmp_path / "f"
    fifo.mkdir()
    os.mkfifo(fifo / "MLmodel")
    started = time.monotonic()
    with pytest.raises(MalformedMetadataError, match="not a regular file"):
        Model.load(fifo)  # reading a FIFO would block forever
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- a\n- b\n", "mapping"),
        ("just text\n", "mapping"),
        ("", "mapping"),
        ("flavors: [a, b]\n", "flavors"),
        ("flavors: {}\n", "flavors"),
        ("flavors: {1: {}, a: {}}\n", "flavor names"),
        ("flavors: {a: 3}\n", "mapping of settings"),
        (FLAVORS + "7: x\n", "keys must be strings"),
        (FLAVORS + "run_id: [1, 2]\n", "run_id"),
        (FLAVORS + "model_size_bytes: {a: 1}\n", "model_size_bytes"),
        (FLAVORS + "prompts: 3\n", "prompts"),
        (FLAVORS + "signature: [1]\n", "signature"),
        (FLAVORS + "signature: {inputs: '[[['}\n", "not valid JSON"),
        (FLAVORS + "signature: {inputs: '" + "[" * 50_000 + "'}\n", "nested too deeply"),
        (FLAVORS + "signature: {inputs: '{\"a\": 1}'}\n", "list"),
        (FLAVORS + "signature: {inputs: '[{\"type\": []}]'}\n", "type"),
        (FLAVORS + "signature: {inputs: 5}\n", "JSON text"),
        (FLAVORS + "saved_input_example_info: [1]\n", "saved_input_example_info"),
        (FLAVORS + "a: !!python/object:os.system x\n", "not valid YAML"),
        (FLAVORS + "a: [unclosed\n", "not valid YAML"),
    ],
)
def test_wrong_mlmodel_shapes(text: str, words: str) -> None:
    with pytest.raises(MalformedMetadataError, match=words):
        Model.from_yaml(text)


def test_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['l0: &l0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]")
    text = FLAVORS + "\n".join(lines) + "\nflavors2: *l9\n"
    started = time.monotonic()
    with pytest.raises(MalformedMetadataError, match=f"limit is {MAX_YAML_NODES:,}"):
        Model.load(_model_dir(tmp_path, text))
    # The bomb as 'flavors' itself once made the error message format a billion-item repr.
    with pytest.raises(MalformedMetadataError):
        Model.from_yaml("\n".join(lines) + "\nflavors: *l9\n")
    assert time.monotonic() - started < 5
    # A few aliases (as yaml.safe_dump writes for shared objects) still load.
    shared = FLAVORS + "metadata: {a: &s [1, 2], b: *s}\n"
    assert Model.from_yaml(shared).metadata == {"a": [1, 2], "b": [1, 2]}


def test_invalid_utf8_and_huge_mlmodel(tmp_path: Path) -> None:
    with pytest.raises(MalformedMetadataError, match="not UTF-8"):
        Model.load(_model_dir(tmp_path, FLAVORS.encode() + b"x: \xff\xfe\n"))
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "MLmodel", "wb") as handle:
        handle.write(FLAVORS.encode())
        handle.truncate(MAX_MLMODEL_BYTES + 1)  # sparse: no real disk use
    with pytest.raises(MalformedMetadataError, match="larger than"):
        Model.load(big)
    with pytest.raises(NotFoundError):
        Model.load(tmp_path / "nothing-here")


def test_input_example_files_that_are_malformed(tmp_path: Path) -> None:
    def with_example(info: dict[str, Any], content: bytes | None) -> Path:
        root = _model_dir(tmp_path, FLAVORS + yaml.safe_dump({"saved_input_example_info": info}))
        if content is not None:
            (root / "input_example.json").write_bytes(content)
        return root

    def load(root: Path) -> Any:
        return Model.load(root).load_input_example(root)

    cases = [
        ({"artifact_path": "input_example.json", "type": "dataframe"}, b"{not json"),
        ({"artifact_path": "input_example.json", "type": "dataframe"}, b"[" * 100_000),
        ({"artifact_path": "input_example.json", "type": "dataframe"}, b"\xff\xfe"),
        ({"artifact_path": "input_example.json", "type": "dataframe"}, b'{"columns": 3}'),
        ({"artifact_path": "input_example.json", "type": "sparse_matrix_csr"}, b'{"data": 1}'),
        ({"artifact_path": "input_example.json", "type": "alien"}, b"[1]"),
        ({"artifact_path": "../../etc/passwd", "type": "json_object"}, None),
        ({"artifact_path": "/etc/passwd", "type": "json_object"}, None),
        ({"artifact_path": ["x"], "type": "json_object"}, None),
    ]
    for info, content in cases:
        with pytest.raises(MalformedMetadataError):
            load(with_example(info, content))
    (tmp_path / "m" / "input_example.json").unlink()
    (tmp_path / "m" / "input_example.json").mkdir()
    with pytest.raises(MalformedMetadataError, match="is a directory"):
        load(with_example({"artifact_path": "input_example.json", "type": "json_object"}, None))


# ---------------------------------------------------------------------------- Hypothesis
def _only_typed(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except ModelshelfError:
        pass


_yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)
)
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_yaml_scalars, inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "flavors",
        "signature",
        "saved_input_example_info",
        "metadata",
        "run_id",
        "artifact_path",
        "model_uuid",
        "model_size_bytes",
        "prompts",
        "utc_time_created",
        "mlflow_version",
        "python_function",
        "loader_module",
        "inputs",
        "outputs",
        "params",
    ]
)
_structured = st.recursive(
    _yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_keys | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)

_fast = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fast
@given(st.text(max_size=300))
def test_hypothesis_arbitrary_mlmodel_text(text: str) -> None:
    _only_typed(Model.from_yaml, text)


@_fast
@given(_structured)
def test_hypothesis_structured_but_wrong_mlmodel(doc: Any) -> None:
    try:
        text = yaml.safe_dump(doc)
    except (yaml.YAMLError, TypeError, ValueError):  # not representable: nothing to test
        return
    try:
        model = Model.from_yaml(text)
    except ModelshelfError:
        return
    Model.from_yaml(model.to_yaml())  # what was accepted round-trips


_spec_fields = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["double", "long", "string", "tensor", "array", "object", "map"])
        | _yaml_values,
        "name": st.text(max_size=5) | _yaml_values,
        "required": _yaml_values,
        "optional": _yaml_values,
        "tensor-spec": st.fixed_dictionaries(
            {},
            optional={
                "dtype": st.sampled_from(["float64", "int8", "nope"]) | _yaml_values,
                "shape": _yaml_values,
            },  # fmt: skip
        ),
        "items": _yaml_values,
        "properties": _yaml_values,
        "values": _yaml_values,
        "default": _yaml_values,
        "shape": _yaml_values,
    },
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "inputs": st.lists(_spec_fields, max_size=3).map(json.dumps) | _yaml_values,
            "outputs": st.lists(_spec_fields, max_size=3).map(json.dumps) | st.text(max_size=40),
            "params": st.lists(_spec_fields, max_size=3).map(json.dumps) | _yaml_values,
        },
    )
)
def test_hypothesis_signature_json(sig: dict[str, Any]) -> None:
    _only_typed(ModelSignature.from_dict, sig)
    _only_typed(Model.from_dict, {"flavors": {"f": {}}, "signature": sig})
