"""modelshelf.pyfunc on local directories: save layout, load, predict, config, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from modelshelf.errors import (
    AlreadyExistsError,
    ConfigurationError,
    InvalidInputError,
    MalformedMetadataError,
    MissingDependencyError,
    ModelLoadWarning,
    NotFoundError,
    ParamsIgnoredWarning,
    SchemaEnforcementError,
    SignatureInferenceWarning,
)
from modelshelf.models import MLFLOW_FORMAT_VERSION, Model, infer_signature
from modelshelf.pyfunc import (
    PyFuncModel,
    PythonModel,
    load_model,
    load_model_from_dir,
    register_loader,
    save_model,
)
from tests.pyfunc._models import CtxNamedModel, LinModel, NoContextModel, ParamsOnlyModel

MLFLOW_PIN = f"mlflow=={MLFLOW_FORMAT_VERSION}"
NEVER_INSTALLED = "0.0.1"  # a version no environment has, to provoke the mismatch warning

LOADER_SRC = Path(__file__).parent / "loader_src" / "shelf_test_loader.py"
DF = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 0.5]})


@pytest.fixture
def offset_file(tmp_path: Path) -> Path:
    p = tmp_path / "src" / "offset.txt"
    p.parent.mkdir()
    p.write_text("1.5")
    return p


def _expected(df: pd.DataFrame, offset: float = 0.0, bump: float = 0.0, scale: float = 1.0) -> Any:
    return (LinModel().reg.predict(df[["a", "b"]].to_numpy()) + offset + bump) * scale


def test_python_model_layout_and_mlmodel(tmp_path: Path, offset_file: Path) -> None:
    path = tmp_path / "m"
    save_model(
        path,
        python_model=LinModel(),
        artifacts={"offset": str(offset_file)},
        input_example=(DF, {"bump": 1.0}),
        metadata={"team": "x"},
        model_config={"scale": 2.0},
    )
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))
    assert names == [
        "MLmodel",
        "artifacts",
        "artifacts/offset.txt",
        "conda.yaml",
        "input_example.json",
        "python_env.yaml",
        "python_model.pkl",
        "requirements.txt",
        "serving_input_example.json",
    ]
    d = yaml.safe_load((path / "MLmodel").read_text())
    conf = d["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"] == {
        "offset": {"path": "artifacts/offset.txt", "uri": str(offset_file)}
    }
    assert conf["code"] is None and conf["streamable"] is False
    assert conf["config"] == {"scale": 2.0}
    assert conf["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert d["metadata"] == {"team": "x"}
    assert d["model_size_bytes"] > 0
    # signature inferred by predicting on the example (1-D output -> unnamed column)
    assert json.loads(d["signature"]["outputs"]) == [{"type": "double", "required": True}]
    assert json.loads(d["signature"]["params"])[0]["name"] == "bump"
    reqs = (path / "requirements.txt").read_text()
    assert not reqs.endswith("\n")
    lines = reqs.split("\n")
    assert lines[0] == MLFLOW_PIN
    assert any(line.startswith("scikit-learn==") for line in lines)
    assert any(line.startswith("modelshelf==") for line in lines)
    assert any(line.startswith("cloudpickle==") for line in lines)


def test_load_and_predict_with_artifacts_config_and_params(
    tmp_path: Path, offset_file: Path
) -> None:
    path = tmp_path / "m"
    save_model(
        path,
        python_model=LinModel(),
        artifacts={"offset": str(offset_file)},
        input_example=(DF, {"bump": 1.0}),
        model_config={"scale": 2.0},
    )
    m = load_model_from_dir(path)
    assert isinstance(m, PyFuncModel) and m.loader_module == "mlflow.pyfunc.model"
    np.testing.assert_allclose(m.predict(DF), _expected(DF, 1.5, 1.0, 2.0))  # default param
    np.testing.assert_allclose(m.predict(DF, params={"bump": 3}), _expected(DF, 1.5, 3.0, 2.0))
    assert isinstance(m.unwrap_python_model(), LinModel)
    assert m.metadata.get_params_schema() is not None
    pd.testing.assert_frame_equal(m.input_example, DF)
    assert m.metadata.load_input_example_params(path) == {"bump": 1.0}
    serving = json.loads(m.metadata.get_serving_input(path) or "")
    assert serving["params"] == {"bump": 1.0} and "dataframe_split" in serving
    # config override: only saved keys; others ignored with a warning
    m2 = load_model_from_dir(path, model_config={"scale": 10.0})
    np.testing.assert_allclose(m2.predict(DF), _expected(DF, 1.5, 1.0, 10.0))
    with pytest.warns(ModelLoadWarning, match="only keys saved"):
        m3 = load_model_from_dir(path, model_config={"scale": 1.0, "nope": 1})
    assert m3.model_config == {"scale": 1.0}


def test_model_config_from_yaml_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m"
    save_model(path, python_model=LinModel(), model_config={"scale": 2.0, "other": "x"})
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("scale: 3.0\n")
    assert load_model_from_dir(path, model_config=cfg).model_config == {"scale": 3.0, "other": "x"}
    monkeypatch.setenv("MLFLOW_PYFUNC_INFERENCE_CONFIG", '{"scale": 4.0, "other": "y"}')
    assert load_model_from_dir(path).model_config == {"scale": 4.0, "other": "y"}
    # the argument wins over the environment
    assert load_model_from_dir(path, {"scale": 5.0}).model_config == {"scale": 5.0, "other": "y"}


def test_overrides_without_saved_config_are_ignored(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=NoContextModel())
    with pytest.warns(ModelLoadWarning, match="saved without a model_config"):
        m = load_model_from_dir(tmp_path / "m", model_config={"a": 1})
    assert m.model_config is None


@pytest.mark.parametrize(
    ("model", "data", "expected"),
    [
        (NoContextModel(), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([3.0, 7.0])),
        (CtxNamedModel(), np.array([1.0, 2.0]), np.array([2.0, 4.0])),
    ],
)
def test_context_rule(tmp_path: Path, model: PythonModel, data: Any, expected: Any) -> None:
    save_model(tmp_path / "m", python_model=model)
    np.testing.assert_allclose(load_model_from_dir(tmp_path / "m").predict(data), expected)


def test_params_dropped_with_warning_when_predict_has_none(tmp_path: Path) -> None:
    sig = infer_signature(np.ones((1, 2)), params={"x": 0})
    save_model(tmp_path / "m", python_model=NoContextModel(), signature=sig)
    m = load_model_from_dir(tmp_path / "m")
    with pytest.warns(ParamsIgnoredWarning):
        out = m.predict(np.ones((1, 2)), params={"x": 1})
    assert out.tolist() == [2.0]


def test_params_without_schema_are_dropped_before_the_model(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=ParamsOnlyModel())
    m = load_model_from_dir(tmp_path / "m")
    with pytest.warns(Warning):
        out = m.predict([1, 2], params={"x": 1})
    assert out["n"] == 2 and not out["params"]


def test_function_as_python_model(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=lambda x: [v * 3 for v in x])
    assert load_model_from_dir(tmp_path / "m").predict([1, 2]) == [3, 6]


def test_signature_enforced_at_predict(tmp_path: Path) -> None:
    sig = infer_signature(DF, np.zeros(3), params={"bump": 0.0})
    save_model(tmp_path / "m", python_model=LinModel(), signature=sig)
    m = load_model_from_dir(tmp_path / "m")
    with pytest.raises(SchemaEnforcementError, match="missing inputs"):
        m.predict(DF[["a"]])
    with pytest.raises(SchemaEnforcementError):
        m.predict(DF, params={"bump": "high"})
    with pytest.warns(Warning, match="extra"):
        out = m.predict(DF.assign(extra=1))
    np.testing.assert_allclose(out, _expected(DF))


def test_example_contradicting_signature_is_refused(tmp_path: Path) -> None:
    sig = infer_signature(DF, np.zeros(3))
    with pytest.raises(SchemaEnforcementError, match="input_example does not match"):
        save_model(
            tmp_path / "m",
            python_model=LinModel(),
            signature=sig,
            input_example=pd.DataFrame({"a": [1.0]}),
        )
    assert not (tmp_path / "m").exists()
    assert not list(tmp_path.iterdir())  # no staging folder left behind


def test_failed_signature_inference_warns_and_saves(tmp_path: Path) -> None:
    with pytest.warns(SignatureInferenceWarning):
        save_model(tmp_path / "m", python_model=LinModel(), input_example=np.array([[1.0, 2.0]]))
    meta = Model.load(tmp_path / "m")
    assert meta.signature is None and meta.saved_input_example_info["type"] == "ndarray"


def test_loader_module_with_code_and_data(tmp_path: Path) -> None:
    data = tmp_path / "k.json"
    data.write_text('{"k": 3}')
    path = tmp_path / "m"
    save_model(
        path,
        loader_module="shelf_test_loader",
        code_paths=[LOADER_SRC],
        data_path=data,
        pip_requirements=["numpy"],
    )
    d = yaml.safe_load((path / "MLmodel").read_text())
    conf = d["flavors"]["python_function"]
    assert conf["code"] == "code" and conf["data"] == "data/k.json" and conf["streamable"] is False
    assert (path / "code" / "shelf_test_loader.py").is_file()
    assert (path / "requirements.txt").read_text() == f"{MLFLOW_PIN}\nnumpy"
    m = load_model_from_dir(path)
    np.testing.assert_allclose(m.predict(np.array([1.0, 2.0]), params=None), [3.0, 6.0])


def test_data_absent_means_model_root(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def loader(data_path: str, config: Any, **kw: Any) -> Any:
        seen["path"] = data_path
        return NoContextModel()

    register_loader("tests.fake_flavor", loader)
    with pytest.raises(AlreadyExistsError):
        register_loader("tests.fake_flavor", loader)
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: tests.fake_flavor\n"
        "    model_path: model.pkl\n"
    )
    load_model_from_dir(tmp_path)
    assert seen["path"] == str(tmp_path.resolve())


def test_requirement_arguments(tmp_path: Path) -> None:
    save_model(tmp_path / "a", python_model=NoContextModel(), extra_pip_requirements=["tqdm>=4"])
    lines = (tmp_path / "a" / "requirements.txt").read_text().split("\n")
    assert lines[0] == MLFLOW_PIN and lines[-1] == "tqdm>=4" and len(lines) > 2
    save_model(
        tmp_path / "b", python_model=NoContextModel(), pip_requirements=["mlflow>=3", "x==1"]
    )
    assert (tmp_path / "b" / "requirements.txt").read_text() == "mlflow>=3\nx==1"
    conda = {
        "name": "e",
        "channels": ["defaults"],
        "dependencies": ["python=3.11", {"pip": ["y==2"]}],
    }
    save_model(tmp_path / "c", python_model=NoContextModel(), conda_env=conda)
    assert (tmp_path / "c" / "requirements.txt").read_text() == f"{MLFLOW_PIN}\ny==2"
    written = yaml.safe_load((tmp_path / "c" / "conda.yaml").read_text())
    assert written["dependencies"][-1] == {"pip": [MLFLOW_PIN, "y==2"]}
    with pytest.raises(InvalidInputError, match="only one of"):
        save_model(
            tmp_path / "d",
            python_model=NoContextModel(),
            pip_requirements=["a"],
            extra_pip_requirements=["b"],
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"python_model": NoContextModel(), "loader_module": "x"},
        {"python_model": NoContextModel(), "data_path": "."},
        {"loader_module": "x", "artifacts": {"a": "."}},
        {"python_model": object()},
        {"python_model": NoContextModel(), "artifacts": {"a": "mlflow-artifacts:/bucket/key"}},
        {"python_model": NoContextModel(), "artifacts": {"a": "/does/not/exist"}},
        {"python_model": NoContextModel(), "input_example": object()},
        {"python_model": NoContextModel(), "metadata": ["x"]},
        {"python_model": NoContextModel(), "signature": {"inputs": "[]"}},
    ],
)
def test_bad_save_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        save_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_refuses_non_empty_target(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    save_model(tmp_path / "m", python_model=NoContextModel())  # empty dir is fine
    with pytest.raises(AlreadyExistsError, match="already exists and is not empty"):
        save_model(tmp_path / "m", python_model=NoContextModel())
    with pytest.raises(FileExistsError):
        save_model(tmp_path / "m", python_model=NoContextModel())


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_model_from_dir(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n")
    with pytest.raises(MalformedMetadataError, match='does not have the "python_function" flavor'):
        load_model_from_dir(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors:\n  python_function:\n    data: x\n")
    with pytest.raises(MalformedMetadataError, match="no 'loader_module'"):
        load_model_from_dir(tmp_path)
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: no_such_mod_xyz\n"
    )
    with pytest.raises(MissingDependencyError, match="no_such_mod_xyz"):
        load_model_from_dir(tmp_path)
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n"
    )
    with pytest.raises(MalformedMetadataError, match="python_model"):
        load_model_from_dir(tmp_path)
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: m\nmetadata:\n  mlflow.model.isExternal: true\n"
    )
    with pytest.raises(ConfigurationError, match="externally"):
        load_model_from_dir(tmp_path)


def test_load_model_accepts_paths_and_file_uris(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=NoContextModel())
    assert load_model(f"file://{tmp_path / 'm'}").predict([[1.0]]).tolist() == [1.0]
    with pytest.raises(InvalidInputError):
        load_model("models:/")  # malformed: no name


def test_python_version_and_requirement_mismatch_warn(tmp_path: Path) -> None:
    path = tmp_path / "m"
    save_model(
        path, python_model=NoContextModel(), extra_pip_requirements=[f"numpy=={NEVER_INSTALLED}"]
    )
    with pytest.warns(Warning, match="numpy") as rec:
        load_model_from_dir(path)
    assert any("installed" in str(w.message) for w in rec)
    text = (path / "MLmodel").read_text().replace("python_version: 3.", "python_version: 2.")
    (path / "MLmodel").write_text(text)
    with pytest.warns(ModelLoadWarning, match="Python 2."), pytest.warns(Warning, match="numpy"):
        load_model_from_dir(path, suppress_warnings=False)
    load_model_from_dir(path, suppress_warnings=True)  # silent


def test_import_does_not_pull_heavy_modules() -> None:
    code = (
        "import sys, modelshelf.pyfunc; "
        "print(sorted(m for m in ('mlflow','sklearn','torch','pandas','numpy','cloudpickle') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_save_small_model_with_inferred_requirements_is_fast(tmp_path: Path) -> None:
    model = LinModel()
    save_model(tmp_path / "warm", python_model=model)  # first call scans installed dists
    start = time.perf_counter()
    save_model(tmp_path / "m", python_model=model, input_example=DF)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed


def test_predict_stream(tmp_path: Path) -> None:
    from tests.pyfunc._models import StreamModel

    sig = infer_signature(["a"], params={"suffix": "!"})
    save_model(tmp_path / "s", python_model=StreamModel(), signature=sig)
    assert Model.load(tmp_path / "s").flavors["python_function"]["streamable"] is True
    m = load_model_from_dir(tmp_path / "s")
    assert list(m.predict_stream(["a", "b"])) == ["a!", "b!"]
    save_model(tmp_path / "n", python_model=NoContextModel())
    with pytest.raises(ConfigurationError, match="predict_stream"):
        load_model_from_dir(tmp_path / "n").predict_stream([1])


def test_model_config_file_at_save(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("scale: 2.0\n")
    save_model(tmp_path / "m", python_model=LinModel(), model_config=cfg)
    assert Model.load(tmp_path / "m").flavors["python_function"]["config"] == {"scale": 2.0}


def test_type_hint_signature_skips_input_enforcement(tmp_path: Path) -> None:
    sig = infer_signature(DF, np.zeros(3))
    save_model(tmp_path / "m", python_model=LinModel(), signature=sig)
    text = (tmp_path / "m" / "MLmodel").read_text()
    (tmp_path / "m" / "MLmodel").write_text(
        text.replace("is_signature_from_type_hint: false", "is_signature_from_type_hint: true")
    )
    m = load_model_from_dir(tmp_path / "m")
    assert m.metadata.is_signature_from_type_hint is True
    ints = pd.DataFrame({"a": [1, 2], "b": [3, 4]})  # int64 -> double would be rejected otherwise
    np.testing.assert_allclose(m.predict(ints), _expected(ints.astype(float)))


def test_artifact_basename_collisions_and_directories(tmp_path: Path) -> None:
    for sub, text in (("a", "1"), ("b", "2")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "f.txt").write_text(text)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "g.txt").write_text("3")
    arts = {
        "x": str(tmp_path / "a" / "f.txt"),
        "y": str(tmp_path / "b" / "f.txt"),
        "z": str(tmp_path / "d"),
        "w": str(tmp_path / "a" / "f.txt"),
    }
    save_model(tmp_path / "m", python_model=NoContextModel(), artifacts=arts)
    conf = Model.load(tmp_path / "m").flavors["python_function"]["artifacts"]
    assert {k: v["path"] for k, v in conf.items()} == {
        "x": "artifacts/0/f.txt",
        "w": "artifacts/0/f.txt",
        "y": "artifacts/1/f.txt",
        "z": "artifacts/d",
    }
    ctx = load_model_from_dir(tmp_path / "m").unwrap_python_model()
    assert isinstance(ctx, NoContextModel)


def test_code_dir_wins_over_a_cached_module_of_the_same_name(tmp_path: Path) -> None:
    data = tmp_path / "k.json"
    data.write_text('{"k": 2}')
    for version, factor in (("one", 1), ("two", 10)):
        src = tmp_path / version / "shelf_dup_loader.py"
        src.parent.mkdir()
        src.write_text(
            "import numpy as np\n"
            "class _I:\n"
            f"    def predict(self, x):\n        return np.asarray(x) * {factor}\n"
            "def _load_pyfunc(path):\n    return _I()\n"
        )
        save_model(
            tmp_path / f"m_{version}",
            loader_module="shelf_dup_loader",
            code_paths=[src],
            pip_requirements=["numpy"],
        )
    assert load_model_from_dir(tmp_path / "m_one").predict([1]).tolist() == [1]
    assert load_model_from_dir(tmp_path / "m_two").predict([1]).tolist() == [10]


def test_public_surface() -> None:
    import modelshelf.models as models
    import modelshelf.pyfunc as pyfunc

    assert pyfunc.__all__ == [
        "PyFuncModel",
        "PythonModel",
        "PythonModelContext",
        "load_model",
        "load_model_from_dir",
        "log_model",
        "register_loader",
        "save_model",
        "spark_udf",
    ]
    for mod in (pyfunc, models):
        for name in mod.__all__:
            assert getattr(mod, name) is not None, name
    # pickles of user models name the public module, not the private one
    assert PythonModel.__module__ == "modelshelf.pyfunc"


def test_mlflow_framework_loader_names_map_to_the_flavors_registry() -> None:
    pytest.importorskip("modelshelf.flavors")
    from modelshelf.pyfunc._loaders import get_loader

    assert callable(get_loader("mlflow.sklearn"))
    assert get_loader("mlflow.pyfunc.model") is not None
    assert get_loader("surely_not_a_loader") is None
