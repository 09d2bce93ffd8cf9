"""Environment files of a model: ``requirements.txt``, ``conda.yaml``, ``python_env.yaml``.

Requirement inference is in-process and fast (tens of milliseconds, where MLflow spends seconds
in a subprocess that imports the model): the modules a model refers to are read from the
GLOBAL / STACK_GLOBAL opcodes of its pickle streams (plus cloudpickle's by-value module
imports), from the bytecode of the model's own methods (``import x`` inside ``predict``, module
globals it names — a class pickled by reference carries no code), and from module names the
caller knows about (the flavor's framework). Modules are mapped to installed distributions
by one scan of the ``*.dist-info`` folders on ``sys.path`` (``importlib.metadata.packages_distributions()`` does the same job ~10x slower),
pinned to the installed version with any local ``+label`` stripped, and pruned of packages that
other captured packages already depend on, of ``setuptools``/``pip``/``wheel`` and of MLflow.
The index is kept in memory and in ``<cache dir>/dist-index/`` keyed by the ``sys.path`` folders
and their mtimes (installing a package changes them), so a cold process pays ~1 ms, not ~50.

Limits (vs MLflow's subprocess, which records every import made while loading and predicting):
modules imported only indirectly at predict time by *other* libraries are not seen; pass
``extra_pip_requirements`` for those.

**The mlflow line.** Like MLflow, ``requirements.txt`` starts with ``mlflow==<ver>`` (ver =
:data:`~modelshelf.models._mlmodel.MLFLOW_FORMAT_VERSION`) unless the caller supplied an mlflow
requirement. MLflow itself loads a model in-process without that line, but its serving tools
(``mlflow models serve --env-manager virtualenv|conda``) build the environment from this file
and need mlflow in it. modelshelf never needs mlflow, so the load-time mismatch check ignores
the mlflow line.
"""

from __future__ import annotations

import dis
import hashlib
import importlib.metadata
import inspect
import json
import os
import pickletools
import sys
import types
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from modelshelf.errors import InvalidInputError, RequirementsMismatchWarning

__all__ = [
    "CONDA_ENV_FILE_NAME",
    "CONSTRAINTS_FILE_NAME",
    "PYTHON_ENV_FILE_NAME",
    "REQUIREMENTS_FILE_NAME",
    "RequirementsMismatchWarning",
    "infer_pip_requirements",
    "modules_in_pickle",
    "modules_used_by",
    "write_environment",
]

REQUIREMENTS_FILE_NAME = "requirements.txt"
CONDA_ENV_FILE_NAME = "conda.yaml"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONSTRAINTS_FILE_NAME = "constraints.txt"

_PRUNED = frozenset({"setuptools", "pip", "wheel", "mlflow", "mlflow-skinny", "mlflow-tracing"})
_SUBIMPORTS = frozenset({"subimport", "dynamic_subimport", "import_module", "__import__"})


def _canon(name: str) -> str:
    return str(canonicalize_name(name))


def _requirement(line: str) -> Requirement | None:
    """A requirements.txt line as a PEP 508 requirement; None for options, paths and junk."""
    text = line.split(" #", 1)[0].strip()
    if not text or text.startswith(("-", "#", ".", "/")):
        return None
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _applies_here(req: Requirement) -> bool:
    """Whether the requirement's environment marker (if any) holds in this interpreter."""
    return req.marker is None or req.marker.evaluate({"extra": ""})


# -- distribution index --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dist:
    name: str
    version: str
    requires: tuple[str, ...]  # canonical names of unconditional dependencies


@dataclass(slots=True)
class _Index:
    key: tuple[str, ...]
    modules: dict[str, list[str]]  # top-level module -> canonical dist names
    dists: dict[str, _Dist]  # canonical name -> dist


_INDEX: _Index | None = None


def _read_headers(path: str) -> tuple[str | None, str | None, list[str]]:
    name = version = None
    requires: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line in ("\n", "\r\n"):
                    break
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                elif line.startswith("Requires-Dist:"):
                    spec = line[14:].strip()
                    if "extra" in spec.partition(";")[2]:
                        continue  # optional: cheap to skip unparsed (most lines are these)
                    req = _requirement(spec)
                    if req is not None and _applies_here(req):
                        requires.append(_canon(req.name))
    except OSError:
        pass
    return name, version, requires


def _top_levels(info_dir: str) -> set[str]:
    try:
        with open(os.path.join(info_dir, "top_level.txt"), encoding="utf-8") as f:
            return {line.strip() for line in f if line.strip()}
    except OSError:
        pass
    tops: set[str] = set()
    try:
        with open(os.path.join(info_dir, "RECORD"), encoding="utf-8", errors="replace") as f:
            for line in f:
                rel = line.split(",", 1)[0]
                head, sep, _ = rel.partition("/")
                if not sep:
                    if not head.endswith(".py"):
                        continue
                    head = head[:-3]
                if head.isidentifier():
                    tops.add(head)
    except OSError:
        pass
    return tops


def _fingerprint() -> tuple[str, ...]:
    # Installing or removing a distribution adds/removes a *.dist-info folder, which changes the
    # mtime of the sys.path entry holding it; so (entry, mtime) pairs identify an index.
    out: list[str] = []
    for entry in sys.path:
        try:
            out.append(f"{entry}\0{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            out.append(f"{entry}\0-")
    return tuple(out)


def _cache_file(key: tuple[str, ...]) -> Path:
    from modelshelf._settings import cache_dir

    digest = hashlib.sha256("\n".join(key).encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir() / "dist-index" / f"{digest[:32]}.json"


def _load_cached(key: tuple[str, ...]) -> _Index | None:
    try:
        raw = json.loads(_cache_file(key).read_text(encoding="utf-8"))
        dists = {k: _Dist(v[0], v[1], tuple(v[2])) for k, v in raw["dists"].items()}
        return _Index(key, {k: list(v) for k, v in raw["modules"].items()}, dists)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _store_cached(index: _Index) -> None:
    file = _cache_file(index.key)
    payload = {
        "modules": index.modules,
        "dists": {k: [d.name, d.version, list(d.requires)] for k, d in index.dists.items()},
    }
    tmp = file.with_name(f"{file.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        for folder in (file.parent.parent, file.parent):  # the cache is private: 0700, 0600
            os.makedirs(folder, 0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload))
        os.replace(tmp, file)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only cache only costs speed


def _scan() -> tuple[dict[str, list[str]], dict[str, _Dist]]:
    modules: dict[str, list[str]] = {}
    dists: dict[str, _Dist] = {}
    for entry in sys.path:
        try:
            it = os.scandir(entry or ".")
        except OSError:
            continue
        with it:
            for de in it:
                n = de.name
                if n.endswith(".dist-info"):
                    meta = "METADATA"
                elif n.endswith(".egg-info") and de.is_dir():
                    meta = "PKG-INFO"
                else:
                    continue
                name, version, requires = _read_headers(os.path.join(de.path, meta))
                if not name or not version:
                    continue
                canon = _canon(name)
                if canon in dists:  # first on sys.path wins, as for imports
                    continue
                dists[canon] = _Dist(name, version, tuple(requires))
                for top in _top_levels(de.path):
                    modules.setdefault(top, []).append(canon)
    return modules, dists


def _index() -> _Index:
    """Module -> distribution index: in memory, else the on-disk cache, else a fresh scan."""
    global _INDEX
    key = _fingerprint()
    if _INDEX is not None and _INDEX.key == key:
        return _INDEX
    index = _load_cached(key)
    if index is None:
        modules, dists = _scan()
        index = _Index(key, modules, dists)
        _store_cached(index)
    _INDEX = index
    return index


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name`` (any spelling), or None."""
    if _INDEX is not None and _INDEX.key == _fingerprint():
        dist = _INDEX.dists.get(_canon(name))
        return dist.version if dist else None
    # A direct lookup costs ~1 ms; the full index is only worth building for inference.
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- pickle scanning -----------------------------------------------------------------------


def modules_in_pickle(data: bytes) -> set[str]:
    """Top-level module names a pickle stream refers to, without unpickling it.

    Reads GLOBAL / INST / STACK_GLOBAL opcodes and the module-name argument of cloudpickle's
    ``subimport`` (how by-value functions carry ``import numpy as np``).

    Raises:
        InvalidInputError: ``data`` is not a pickle stream.
    """
    found: set[str] = set()
    # The last two values pushed (None for anything but a str or a global), so STACK_GLOBAL
    # sees its real operands even when they come back from the memo via BINGET.
    recent: list[object] = [None, None]
    memo: dict[int, object] = {}
    pending_import = False
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            pushed: object = None
            if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if name == "MEMOIZE" else int(arg or 0)] = recent[-1]
                continue
            if name in ("GLOBAL", "INST"):
                mod, _, attr = str(arg).partition(" ")
                pushed = (mod, attr)
            elif name == "STACK_GLOBAL":
                left, right = recent
                if isinstance(left, str) and isinstance(right, str):
                    pushed = (left, right)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                pushed = memo.get(int(arg or 0))
            elif "UNICODE" in name or name.endswith("STRING"):
                pushed = arg if isinstance(arg, str) else str(arg)
            if isinstance(pushed, tuple):
                found.add(str(pushed[0]).split(".", 1)[0])
                pending_import = pushed[1] in _SUBIMPORTS
            elif isinstance(pushed, str) and pending_import:
                found.add(pushed.split(".", 1)[0])
                pending_import = False
            elif name not in ("MARK", "FRAME", "PROTO"):
                pending_import = False
            recent = [recent[-1], pushed]
    except Exception as exc:
        raise InvalidInputError(f"not a readable pickle stream: {exc}") from exc
    found.discard("")
    return found


# -- inference -----------------------------------------------------------------------------


def _strip_local(version: str) -> str:
    return version.split("+", 1)[0]


def _code_modules(code: types.CodeType, fn_globals: dict[str, Any], out: set[str]) -> None:
    for ins in dis.get_instructions(code):
        if ins.opname == "IMPORT_NAME" and isinstance(ins.argval, str):
            out.add(ins.argval.split(".", 1)[0])
    for name in code.co_names:
        value = fn_globals.get(name)
        if isinstance(value, types.ModuleType):
            out.add(value.__name__.split(".", 1)[0])
        elif value is not None:
            mod = getattr(value, "__module__", None)
            if isinstance(mod, str):
                out.add(mod.split(".", 1)[0])
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_modules(const, fn_globals, out)


def modules_used_by(obj: Any, *, skip: Iterable[type] = ()) -> set[str]:
    """Top-level modules the methods of ``obj``'s own classes import or name as globals.

    Complements :func:`modules_in_pickle`: a class pickled *by reference* carries none of its
    code, yet ``import sklearn`` inside ``predict`` or a module-level ``np`` it uses are
    requirements too. Only classes outside the standard library and outside ``skip`` (base
    classes the pickle names by another library's name) are read.
    """
    skipped = set(skip)
    out: set[str] = set()
    stdlib = sys.stdlib_module_names
    targets: list[Any] = [obj] if isinstance(obj, types.FunctionType) else []
    for cls in type(obj).__mro__:
        if cls in skipped:
            continue
        if cls.__module__.split(".", 1)[0] in stdlib or cls.__module__ == "builtins":
            continue
        out.add(cls.__module__.split(".", 1)[0])
        for attr in vars(cls).values():
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            elif isinstance(attr, property):
                attr = attr.fget
            if isinstance(attr, types.FunctionType):
                targets.append(attr)
    for fn in targets:
        fn = inspect.unwrap(fn)
        if isinstance(fn, types.FunctionType):
            _code_modules(fn.__code__, fn.__globals__, out)
    out.discard("__main__")
    return out


def infer_pip_requirements(
    *,
    pickles: Iterable[bytes | str | os.PathLike[str]] = (),
    modules: Iterable[str] = (),
    defaults: Iterable[str] = (),
) -> list[str]:
    """Pinned requirements for a model, inferred in-process.

    Args:
        pickles: pickle streams (bytes) or files whose referenced modules count.
        modules: further module names (dotted is fine), e.g. the flavor's framework.
        defaults: distribution names always included (never pruned), pinned if installed.

    Returns:
        Sorted, de-duplicated ``name==version`` lines (unpinned names for defaults that are not
        installed).

    Raises:
        InvalidInputError: a pickle stream cannot be read.
    """
    mods: set[str] = {m.split(".", 1)[0] for m in modules if m}
    for p in pickles:
        data = p if isinstance(p, bytes) else Path(p).read_bytes()
        mods |= modules_in_pickle(data)
    index = _index()
    stdlib = sys.stdlib_module_names
    captured: set[str] = set()
    for mod in mods:
        if mod in stdlib or mod.startswith("_") and mod[1:] in stdlib:
            continue
        captured.update(index.modules.get(mod, ()))
    captured -= _PRUNED
    # A package pulled in by another captured package needs no line of its own.
    implied: set[str] = set()
    for name in captured:
        implied |= _requires_closure(name, index) - {name}
    kept = captured - implied
    lines: dict[str, str] = {}
    for canon in sorted(kept):
        dist = index.dists[canon]
        lines[canon] = f"{dist.name}=={_strip_local(dist.version)}"
    for default in defaults:
        canon = _canon(default)
        if canon in lines:
            continue
        found = index.dists.get(canon)
        lines[canon] = f"{found.name}=={_strip_local(found.version)}" if found else default
    return sorted(lines.values(), key=str.lower)


def _requires_closure(name: str, index: _Index) -> set[str]:
    seen: set[str] = set()
    stack = [name]
    while stack:
        cur = stack.pop()
        if cur in seen:
            continue
        seen.add(cur)
        dist = index.dists.get(cur)
        if dist:
            stack.extend(r for r in dist.requires if r not in seen)
    return seen


# -- writing ---------------------------------------------------------------------------------


def _req_name(line: str) -> str | None:
    req = _requirement(line)
    return _canon(req.name) if req is not None else None


def _read_requirement_lines(source: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read requirements file '{source}': {exc}") from exc
        items: Sequence[str] = text.splitlines()
    else:
        items = source
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(
                f"requirements must be strings, got {type(item).__name__}: {item!r}"
            )
        line = item.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _split_constraints(lines: list[str]) -> tuple[list[str], list[str]]:
    reqs: list[str] = []
    constraints: list[str] = []
    for line in lines:
        if line.startswith(("-c ", "--constraint ")):
            constraints.extend(_read_requirement_lines(line.split(None, 1)[1].strip()))
        elif line.startswith(("-r ", "--requirement ")):
            nested, nested_c = _split_constraints(
                _read_requirement_lines(line.split(None, 1)[1].strip())
            )
            reqs.extend(nested)
            constraints.extend(nested_c)
        else:
            reqs.append(line)
    return reqs, constraints


def _dedupe(lines: list[str]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for line in lines:
        name = _req_name(line)
        if name is None:
            if line not in out:
                out.append(line)
            continue
        if name in seen:
            # Keep the more specific spelling (one with a version specifier or a URL).
            kept = _requirement(out[seen[name]])
            if line != out[seen[name]] and kept is not None and not (kept.specifier or kept.url):
                out[seen[name]] = line
            continue
        seen[name] = len(out)
        out.append(line)
    return out


def _python_version() -> str:
    return ".".join(str(x) for x in sys.version_info[:3])


def resolve_requirements(
    default_requirements: Sequence[str],
    *,
    pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    conda_env: str | os.PathLike[str] | dict[str, Any] | None = None,
) -> tuple[list[str], list[str], dict[str, Any] | None]:
    """Apply MLflow's rules for the user's requirement arguments.

    Returns ``(requirements lines, constraint lines, user conda env or None)``.

    Raises:
        InvalidInputError: conflicting arguments, or unreadable requirement/conda files.
    """
    given = [x for x in (pip_requirements, extra_pip_requirements, conda_env) if x is not None]
    if len(given) > 1:
        raise InvalidInputError(
            "pass only one of pip_requirements, extra_pip_requirements and conda_env"
        )
    user_conda: dict[str, Any] | None = None
    if conda_env is not None:
        user_conda = _load_conda_env(conda_env)
        pip_lines: list[str] = []
        for dep in user_conda.get("dependencies") or []:
            if isinstance(dep, dict) and "pip" in dep:
                pip_lines.extend(str(x) for x in dep["pip"] or [])
        reqs, constraints = _split_constraints(_read_requirement_lines(pip_lines))
    elif pip_requirements is not None:
        reqs, constraints = _split_constraints(_read_requirement_lines(pip_requirements))
    elif extra_pip_requirements is not None:
        extra, constraints = _split_constraints(_read_requirement_lines(extra_pip_requirements))
        reqs = [*default_requirements, *extra]
    else:
        reqs, constraints = list(default_requirements), []
    from modelshelf.models._mlmodel import MLFLOW_FORMAT_VERSION

    if not any(_req_name(r) == "mlflow" for r in reqs):
        reqs.insert(0, f"mlflow=={MLFLOW_FORMAT_VERSION}")
    reqs = _dedupe(reqs)
    if constraints:
        reqs.append(f"-c {CONSTRAINTS_FILE_NAME}")
    return reqs, constraints, user_conda


def _load_conda_env(conda_env: str | os.PathLike[str] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(conda_env, dict):
        return dict(conda_env)
    try:
        loaded = yaml.safe_load(Path(conda_env).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"cannot read conda env '{conda_env}': {exc}") from exc
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"conda env '{conda_env}' must be a YAML mapping")
    return loaded


def write_environment(
    path: str | os.PathLike[str],
    default_requirements: Sequence[str],
    *,
    pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    conda_env: str | os.PathLike[str] | dict[str, Any] | None = None,
) -> list[str]:
    """Write ``requirements.txt``, ``conda.yaml``, ``python_env.yaml`` (+ ``constraints.txt``).

    ``default_requirements`` is what inference found; ``pip_requirements`` replaces it,
    ``extra_pip_requirements`` adds to it, ``conda_env`` (dict or YAML path) is written as given
    with its pip list normalised. Returns the requirements lines written.

    Raises:
        InvalidInputError: conflicting arguments or unreadable files.
    """
    root = Path(path)
    reqs, constraints, user_conda = resolve_requirements(
        default_requirements,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
    )
    pip_v = installed_version("pip")
    if user_conda is None:
        conda: dict[str, Any] = {
            "name": "mlflow-env",
            "channels": ["conda-forge"],
            "dependencies": [
                f"python={_python_version()}",
                f"pip<={pip_v}" if pip_v else "pip",
                {"pip": reqs},
            ],
        }
    else:
        conda = dict(user_conda)
        deps = [
            d for d in conda.get("dependencies") or [] if not (isinstance(d, dict) and "pip" in d)
        ]
        conda["dependencies"] = [*deps, {"pip": reqs}]
    build = []
    for name in ("pip", "setuptools", "wheel"):
        v = installed_version(name)
        build.append(f"{name}=={v}" if v else name)
    python_env = {
        "python": _python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
    }
    with open(root / CONDA_ENV_FILE_NAME, "w", encoding="utf-8") as f:
        yaml.safe_dump(conda, f, default_flow_style=False)
    if constraints:
        (root / CONSTRAINTS_FILE_NAME).write_text("\n".join(constraints), encoding="utf-8")
    (root / REQUIREMENTS_FILE_NAME).write_text("\n".join(reqs), encoding="utf-8")
    with open(root / PYTHON_ENV_FILE_NAME, "w", encoding="utf-8") as f:
        yaml.safe_dump(python_env, f, default_flow_style=False, sort_keys=False)
    return reqs


# -- load-time check -------------------------------------------------------------------------


def mismatched_requirements(model_dir: str | os.PathLike[str]) -> list[str]:
    """Lines ``name (installed X; model wants SPEC)`` for requirements not satisfied here.

    Every specifier is checked (``==``, ``>=``, ``~=``, ``!=``, wildcards), with PEP 440
    equality (``1.0`` is ``1.0.0``; a local ``+cpu`` label satisfies ``==1.0``) and canonical
    names (``Scikit_Learn`` is ``scikit-learn``). A requirement whose environment marker does
    not hold here (``; python_version < "3.8"``) is not a mismatch; options, URLs and files
    are skipped, and so is mlflow, which modelshelf never needs to load a model.
    """
    file = Path(model_dir) / REQUIREMENTS_FILE_NAME
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out: list[str] = []
    for raw in text.splitlines():
        req = _requirement(raw)
        if req is None or req.url or _canon(req.name) in _PRUNED or not _applies_here(req):
            continue
        wants = str(req.specifier) or "any version"
        found = installed_version(_canon(req.name))
        if found is None:
            out.append(f"{req.name} (not installed; model wants {wants})")
            continue
        try:
            ok = req.specifier.contains(Version(found), prereleases=True)
        except InvalidVersion:  # a non-PEP 440 installed version: only exact text can match
            ok = all(s.operator in ("==", "===") and s.version == found for s in req.specifier)
        if not ok:
            out.append(f"{req.name} (installed {found}; model wants {wants})")
    return out


def _warn_mismatched_requirements(model_dir: str | os.PathLike[str]) -> None:
    """Warn (:class:`RequirementsMismatchWarning`) about requirements not satisfied here."""
    bad = mismatched_requirements(model_dir)
    if bad:
        warnings.warn(
            f"The model at {model_dir} was saved with packages that differ from this "
            "environment: " + "; ".join(bad) + ". Predictions may differ or fail; install the "
            f"versions pinned in {Path(model_dir) / REQUIREMENTS_FILE_NAME} to match.",
            RequirementsMismatchWarning,
            stacklevel=3,
        )
