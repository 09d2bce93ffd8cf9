"""Fixtures for the CLI tests: a shelf holding a really trained (tiny) sklearn model, logged and
registered through the library, and a runner that invokes ``modelshelf`` in-process."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("click")

from modelshelf._shelf import reset_shelf  # noqa: E402
from modelshelf.runs import _fluent  # noqa: E402
from tests.cli._helpers import Cli, Shelved, build_shelf  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_fluent_state() -> Iterator[None]:
    reset_shelf()
    _fluent._reset()
    yield
    _fluent._reset()
    reset_shelf()


@pytest.fixture(scope="session")
def _local_template(tmp_path_factory: pytest.TempPathFactory) -> Shelved:
    root = tmp_path_factory.mktemp("cli-template")
    return build_shelf(str(root / "shelf"), {}, root / "cache")


@pytest.fixture
def local(_local_template: Shelved, tmp_path: Path) -> Shelved:
    """A fresh copy of the local template shelf, so a test may change it freely."""
    target = tmp_path / "shelf"
    shutil.copytree(_local_template.url, target)
    return Shelved(
        str(target), {}, _local_template.run_id, _local_template.features, _local_template.expected
    )


@pytest.fixture(scope="session")
def s3(moto_endpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Shelved:
    """The same model on S3 (moto), shared by the session: tests may add things but must not
    change or remove what :func:`build_shelf` made."""
    url = f"{moto_endpoint.base_url}/cli-{uuid.uuid4().hex}"
    options = json.loads(json.dumps(moto_endpoint.options))
    return build_shelf(url, options, tmp_path_factory.mktemp("cli-s3-cache"))


@pytest.fixture
def cli() -> Cli:
    return Cli()
