"""One scenario per operation: prepare (no faults), act (under faults), check the outcome.

``check(direct, ctx, ok)`` looks at the shelf through a client that bypasses the proxy: what
the operation reported (``ok``) must be what is stored, and nothing may be half-visible.
"""

from __future__ import annotations

import filecmp
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

import modelshelf
from modelshelf._shelf import reset_shelf, set_shelf
from modelshelf.client import Client
from modelshelf.errors import ObjectNotFoundError

_X = np.random.default_rng(1).normal(size=(5, 3))


@dataclass
class Ctx:
    files: Path
    model: Any
    work: Path
    values: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str  # which requests the faults hit (regex on the HTTP method)
    path: str  # ... and on the path (or, where the backend names objects in the body, there)
    prepare: Callable[[Client, Ctx], None]
    act: Callable[[Client, Ctx], Any]
    check: Callable[[Client, Ctx, bool], None]


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    same = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not same[1] and not same[2] and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def _run(client: Client) -> str:
    return str(client.create_run().info.run_id)


# -- log_artifacts ---------------------------------------------------------------------------
def _prep_artifacts(direct: Client, ctx: Ctx) -> None:
    ctx.values["run"] = _run(direct)


def _act_artifacts(client: Client, ctx: Ctx) -> None:
    client.log_artifacts(ctx.values["run"], ctx.files, "data")


def _check_artifacts(direct: Client, ctx: Ctx, ok: bool) -> None:
    run = ctx.values["run"]
    listed = [info.path for info in direct.list_artifacts(run)]
    if ok:
        assert listed == ["data"], listed
    if listed:  # visible means complete: every file, every byte
        dst = tempfile.mkdtemp(dir=ctx.work)
        got = direct.download_artifacts(run, "data", dst)
        assert _same_tree(Path(got), ctx.files)


# -- log_model -------------------------------------------------------------------------------
def _act_log_model(client: Client, ctx: Ctx) -> None:
    set_shelf(client.shelf)
    try:
        modelshelf.sklearn.log_model(ctx.model, name="model", run_id=ctx.values["run"])
    finally:
        reset_shelf()


def _check_log_model(direct: Client, ctx: Ctx, ok: bool) -> None:
    run = ctx.values["run"]
    logged = direct.list_logged_models(run)
    if ok:
        assert [m.artifact_path for m in logged] == ["model"]
    if logged:
        set_shelf(direct.shelf)
        try:
            loaded = modelshelf.pyfunc.load_model(f"runs:/{run}/model")
            np.testing.assert_allclose(
                np.asarray(loaded.predict(_X)).ravel(), ctx.model.predict(_X)
            )
        finally:
            reset_shelf()


# -- register (create_model_version) ---------------------------------------------------------
def _prep_register(direct: Client, ctx: Ctx) -> None:
    _prep_artifacts(direct, ctx)
    _act_log_model(direct, ctx)
    direct.create_registered_model("m")


def _act_register(client: Client, ctx: Ctx) -> Any:
    run = ctx.values["run"]
    return client.create_model_version("m", f"runs:/{run}/model", run_id=run).version


def _check_register(direct: Client, ctx: Ctx, ok: bool) -> None:
    versions = sorted(int(v.version) for v in direct.search_model_versions("name='m'"))
    # Never two versions for one registration (a lost response retried as a new commit).
    assert versions == ([1] if ok else []), versions


# -- alias move ------------------------------------------------------------------------------
def _prep_alias(direct: Client, ctx: Ctx) -> None:
    _prep_register(direct, ctx)
    run = ctx.values["run"]
    for _ in range(2):
        direct.create_model_version("m", f"runs:/{run}/model", run_id=run)
    direct.set_registered_model_alias("m", "champion", 1)


def _act_alias(client: Client, ctx: Ctx) -> None:
    client.set_registered_model_alias("m", "champion", 2)


def _check_alias(direct: Client, ctx: Ctx, ok: bool) -> None:
    version = direct.get_model_version_by_alias("m", "champion").version
    assert int(version) == (2 if ok else 1), version


# -- gc --------------------------------------------------------------------------------------
def _prep_gc(direct: Client, ctx: Ctx) -> None:
    _prep_artifacts(direct, ctx)
    _act_artifacts(direct, ctx)
    garbage = [direct.shelf.blobs.put_bytes(f"garbage {uuid.uuid4()}".encode()) for _ in range(3)]
    ctx.values["garbage"] = garbage


def _act_gc(client: Client, ctx: Ctx) -> None:
    client.gc(grace=timedelta(0), execute=True)


def _check_gc(direct: Client, ctx: Ctx, ok: bool) -> None:
    _check_artifacts(direct, ctx, True)  # referenced blobs always survive, whatever happened
    left = [d for d in ctx.values["garbage"] if direct.shelf.blobs.exists(d)]
    if ok:
        assert not left, left


# -- download (load_model, get_tree) ---------------------------------------------------------
def _prep_download(direct: Client, ctx: Ctx) -> None:
    _prep_register(direct, ctx)
    run = ctx.values["run"]
    direct.create_model_version("m", f"runs:/{run}/model", run_id=run)
    ctx.values["digest"] = direct.get_model_version("m", 1).digest


def _act_download(client: Client, ctx: Ctx) -> None:
    # A new, empty cache: everything comes through the faulty proxy.
    os.environ["MODELSHELF_CACHE_DIR"] = tempfile.mkdtemp(dir=ctx.work)
    dest = ctx.work / f"tree-{uuid.uuid4().hex[:8]}"
    ctx.values["dest"] = dest
    fresh = Client(type(client.shelf)(client.shelf.storage))
    fresh.shelf.blobs.get_tree(ctx.values["digest"], dest)
    set_shelf(fresh.shelf)
    try:
        loaded = modelshelf.pyfunc.load_model("models:/m/1")
    finally:
        reset_shelf()
    np.testing.assert_allclose(np.asarray(loaded.predict(_X)).ravel(), ctx.model.predict(_X))


def _check_download(direct: Client, ctx: Ctx, ok: bool) -> None:
    dest = ctx.values.get("dest")
    if dest is not None and dest.exists():  # a materialised tree is whole, never partial
        fresh = tempfile.mkdtemp(dir=ctx.work)
        os.rmdir(fresh)
        direct.shelf.blobs.get_tree(ctx.values["digest"], fresh)
        assert _same_tree(dest, Path(fresh))
        import shutil

        shutil.rmtree(dest)
    elif ok:
        raise AssertionError("the download reported success but left no tree")


_WRITES = "PUT|POST|PATCH"
SCENARIOS = {
    s.name: s
    for s in (
        Scenario("log_artifacts", _WRITES, ".", _prep_artifacts, _act_artifacts, _check_artifacts),
        Scenario("log_model", _WRITES, ".", _prep_artifacts, _act_log_model, _check_log_model),
        Scenario("register", _WRITES, "registry", _prep_register, _act_register, _check_register),
        Scenario("alias", _WRITES, "registry", _prep_alias, _act_alias, _check_alias),
        Scenario("gc", "DELETE|" + _WRITES, ".", _prep_gc, _act_gc, _check_gc),
        Scenario("download", "GET", "objects", _prep_download, _act_download, _check_download),
    )
}

__all__ = ["SCENARIOS", "Ctx", "ObjectNotFoundError", "Scenario"]
