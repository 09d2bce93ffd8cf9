"""Environment files and fast in-process requirement inference."""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import yaml

from modelshelf.errors import InvalidInputError, RequirementsMismatchWarning
from modelshelf.models import MLFLOW_FORMAT_VERSION
from modelshelf.models._environment import (
    _warn_mismatched_requirements,
    infer_pip_requirements,
    installed_version,
    mismatched_requirements,
    modules_in_pickle,
    write_environment,
)
from tests.pyfunc._models import LinModel

MLFLOW_PIN = f"mlflow=={MLFLOW_FORMAT_VERSION}"
NEVER_INSTALLED = "0.0.1"  # a version no environment has, to provoke the mismatch warning


def _pin(name: str) -> str:
    v = installed_version(name)
    assert v is not None
    return f"{name}=={v.split('+')[0]}"


def test_modules_in_plain_and_cloudpickle_streams() -> None:
    assert modules_in_pickle(pickle.dumps(np.arange(3))) == {"numpy"}
    found = modules_in_pickle(cloudpickle.dumps(LinModel()))
    assert {"sklearn", "tests"} <= found

    def f(x: object) -> object:
        import pandas as pd  # noqa: F401  (by-value function: carried as a subimport)

        return np.asarray(x)

    f.__module__ = "__main__"  # force by-value pickling
    assert "numpy" in modules_in_pickle(cloudpickle.dumps(f))
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert modules_in_pickle(pickle.dumps(Path("x"), protocol=proto)) == {"pathlib"}


def test_not_a_pickle() -> None:
    with pytest.raises(InvalidInputError):
        modules_in_pickle(b"definitely not a pickle")


def test_inference_pins_prunes_and_keeps_defaults() -> None:
    reqs = infer_pip_requirements(
        pickles=[cloudpickle.dumps(LinModel())],
        modules=["yaml", "os"],
        defaults=["cloudpickle", "not-installed-pkg"],
    )
    assert _pin("scikit-learn") in reqs and _pin("cloudpickle") in reqs and _pin("PyYAML") in reqs
    assert "not-installed-pkg" in reqs
    assert not any(
        r.startswith(("numpy==", "scipy==", "setuptools", "pip==", "mlflow")) for r in reqs
    )
    assert reqs == sorted(reqs, key=str.lower)
    assert all("+" not in r for r in reqs)


def test_inference_is_fast(tmp_path: Path) -> None:
    blob = cloudpickle.dumps(LinModel())
    infer_pip_requirements(pickles=[blob])  # builds the per-process index
    start = time.perf_counter()
    for _ in range(10):
        infer_pip_requirements(pickles=[blob], defaults=["cloudpickle"])
    assert (time.perf_counter() - start) / 10 < 0.02


def test_written_files_have_mlflow_shapes(tmp_path: Path) -> None:
    reqs = write_environment(tmp_path, [_pin("cloudpickle"), _pin("pandas")])
    assert reqs == [MLFLOW_PIN, _pin("cloudpickle"), _pin("pandas")]
    assert (tmp_path / "requirements.txt").read_text() == "\n".join(
        [MLFLOW_PIN, _pin("cloudpickle"), _pin("pandas")]
    )
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    py = ".".join(map(str, sys.version_info[:3]))
    pip_v = installed_version("pip")  # None in an environment made without pip (uv venv)
    assert conda == {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={py}", f"pip<={pip_v}" if pip_v else "pip", {"pip": reqs}],
    }
    text = (tmp_path / "python_env.yaml").read_text()
    assert text.splitlines()[0] == f"python: {py}"
    env = yaml.safe_load(text)
    assert list(env) == ["python", "build_dependencies", "dependencies"]
    assert env["dependencies"] == ["-r requirements.txt"]
    assert env["build_dependencies"][0].startswith("pip==" if pip_v else "pip")


def test_constraints_and_requirement_files(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("numpy<3\n")
    (tmp_path / "r.txt").write_text("# comment\nfoo==1\n\nbar\n")
    out = tmp_path / "out"
    out.mkdir()
    reqs = write_environment(
        out, [], pip_requirements=[f"-r {tmp_path / 'r.txt'}", f"-c {tmp_path / 'c.txt'}"]
    )
    assert reqs == [MLFLOW_PIN, "foo==1", "bar", "-c constraints.txt"]
    assert (out / "constraints.txt").read_text() == "numpy<3"
    out2 = tmp_path / "out2"
    out2.mkdir()
    assert write_environment(out2, ["a==1"], pip_requirements=str(tmp_path / "r.txt")) == [
        MLFLOW_PIN,
        "foo==1",
        "bar",
    ]
    with pytest.raises(InvalidInputError):
        write_environment(out2, [], pip_requirements=str(tmp_path / "missing.txt"))


def test_mismatch_check_ignores_mlflow_and_names_packages(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        f"mlflow=={NEVER_INSTALLED}\n{_pin('numpy')}\npandas=={NEVER_INSTALLED}\nnot-installed-pkg==1.0\nscipy>=1\n-r other.txt"
    )
    bad = mismatched_requirements(tmp_path)
    assert len(bad) == 2
    assert bad[0].startswith("pandas (installed") and "not installed" in bad[1]
    with pytest.warns(RequirementsMismatchWarning, match="pandas"):
        _warn_mismatched_requirements(tmp_path)
    (tmp_path / "requirements.txt").write_text(_pin("numpy"))
    _warn_mismatched_requirements(tmp_path)  # silent
    _warn_mismatched_requirements(tmp_path / "nope")  # no file: silent


def test_distribution_index_is_cached_on_disk(
    monkeypatch: pytest.MonkeyPatch, _isolated_settings: Path
) -> None:
    from modelshelf.models import _environment as env

    monkeypatch.setattr(env, "_INDEX", None)
    first = env._index()
    files = list((_isolated_settings / "dist-index").glob("*.json"))
    assert len(files) == 1
    monkeypatch.setattr(env, "_INDEX", None)
    monkeypatch.setattr(env, "_scan", lambda: pytest.fail("should read the cache"))
    assert env._index().dists == first.dists
    files[0].write_text("{not json")
    monkeypatch.setattr(env, "_INDEX", None)
    monkeypatch.setattr(env, "_scan", lambda: ({}, {}))
    assert env._index().dists == {}  # a corrupt cache is rebuilt, never trusted


class _LocalImports:
    def predict(self, x: object) -> object:
        import yaml  # noqa: F401
        from sklearn import tree  # noqa: F401

        return np.asarray(x)


def test_modules_used_by_methods_and_functions() -> None:
    from modelshelf.models._environment import modules_used_by

    assert {"yaml", "sklearn", "numpy", "tests"} <= modules_used_by(_LocalImports())
    assert modules_used_by(lambda x: np.ones(1)) == {"numpy"}
    reqs = infer_pip_requirements(modules=modules_used_by(_LocalImports()))
    assert _pin("PyYAML") in reqs and _pin("scikit-learn") in reqs


def _mismatches(tmp_path: Path, *lines: str) -> list[str]:
    (tmp_path / "requirements.txt").write_text("\n".join(lines))
    return mismatched_requirements(tmp_path)


def test_every_specifier_is_checked(tmp_path: Path) -> None:
    from packaging.version import Version

    have = Version(installed_version("numpy") or "")
    nxt = f"{have.major + 1}.0"
    assert _mismatches(tmp_path, f"numpy>={have}", f"numpy<{nxt}", f"numpy~={have.major}.0") == []
    assert _mismatches(tmp_path, f"numpy=={have.major}.*", f"numpy!={nxt}") == []
    bad = _mismatches(tmp_path, f"numpy>={nxt}", f"numpy!={have}", f"numpy<{have}")
    assert len(bad) == 3 and all(f"installed {have}" in line for line in bad)
    assert _mismatches(tmp_path, f"numpy>={have},<{have.major}") != []  # both parts count


def test_versions_compare_by_pep_440(tmp_path: Path) -> None:
    from packaging.version import Version

    have = Version(installed_version("numpy") or "")
    padded = ".".join(str(p) for p in (*have.release, 0, 0))  # 2.1.3 -> 2.1.3.0.0
    assert _mismatches(tmp_path, f"numpy=={padded}") == []
    assert _mismatches(tmp_path, f"numpy=={have}+cpu") != []  # a local label asked for


def test_names_are_canonicalized(tmp_path: Path) -> None:
    have = installed_version("typing-extensions")
    assert have is not None
    spellings = [
        "typing_extensions",
        "Typing.Extensions",
        "TYPING-extensions",
        "typing__extensions",
    ]
    assert _mismatches(tmp_path, *(f"{name}=={have}" for name in spellings)) == []
    assert (
        _mismatches(tmp_path, f"MLflow=={NEVER_INSTALLED}", "MLFLOW>=999", "mlflow_skinny>=999")
        == []
    )


def test_a_marker_that_does_not_hold_here_is_not_a_mismatch(tmp_path: Path) -> None:
    other = "win32" if sys.platform != "win32" else "linux"
    assert (
        _mismatches(
            tmp_path,
            f'numpy=={NEVER_INSTALLED}; sys_platform == "{other}"',
            'not-installed-pkg==1.0; python_version < "3"',
        )
        == []
    )
    here = _mismatches(tmp_path, f'numpy=={NEVER_INSTALLED}; sys_platform == "{sys.platform}"')
    assert len(here) == 1 and here[0].startswith("numpy (installed")


def test_unpinned_requirement_that_is_missing_is_a_mismatch(tmp_path: Path) -> None:
    assert _mismatches(tmp_path, "not-installed-pkg") == [
        "not-installed-pkg (not installed; model wants any version)"
    ]
    assert (
        _mismatches(tmp_path, "-r other.txt", "--index-url x", "./local", "pkg @ https://x/y.whl")
        == []
    )
