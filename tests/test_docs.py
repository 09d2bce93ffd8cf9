"""The documentation's code runs: every ```python block of docs/**/*.md and README.md.

The blocks of one page run in order in one fresh interpreter (so a later block uses the names an
earlier one defined), in an empty temporary working directory with its own cache, against the
local ``./shelf`` or ``memory://`` shelves the examples name. A traceback points at the page and
the line of the Markdown file.

Two markers, an HTML comment on the line right before a block, are the only way out:

* ``<!-- not-run: why -->``: the block needs something the tests cannot have (a cloud bucket, a
  plugin installed with pip); at most ``MAX_NOT_RUN`` blocks in all may say so;
* ``<!-- requires: module -->``: the block runs only where ``module`` is importable (real MLflow
  for the interoperability examples; the dev install has it).

Also checked here: the API reference pages name every public name, and the flavor-plugin page
shows the plugin the flavor tests install, byte for byte.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
MAX_NOT_RUN = 6

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<lang>[\w+-]*)[^\n]*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|requires):\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the block's first code line
    code: str
    not_run: str | None = None
    requires: str | None = None


def extract_blocks(page: Path) -> list[Block]:
    """The ```python blocks of ``page``, with the marker (if any) on the line before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            marker = _MARKER.match(lines[i])
            if marker and not (i + 1 < len(lines) and _is_python_fence(lines[i + 1])):
                raise AssertionError(
                    f"{page}:{i + 1}: a {marker['kind']} marker must sit on the line right "
                    "before a ```python block"
                )
            i += 1
            continue
        indent, fence, lang = m["indent"], m["fence"], m["lang"]
        end = i + 1
        while end < len(lines) and not re.match(rf"^{indent}{fence}\s*$", lines[end]):
            end += 1
        if lang == "python":
            code = "\n".join(line[len(indent) :] for line in lines[i + 1 : end])
            marker = _MARKER.match(lines[i - 1]) if i > 0 else None
            blocks.append(
                Block(
                    page,
                    i + 2,
                    code + "\n",
                    not_run=marker["arg"] if marker and marker["kind"] == "not-run" else None,
                    requires=marker["arg"] if marker and marker["kind"] == "requires" else None,
                )
            )
        i = end + 1
    return blocks


def _is_python_fence(line: str) -> bool:
    m = _FENCE.match(line)
    return bool(m and m["lang"] == "python")


ALL_BLOCKS = {page: extract_blocks(page) for page in PAGES}
RUNNABLE_PAGES = [p for p, blocks in ALL_BLOCKS.items() if any(not b.not_run for b in blocks)]

# Runs in the child: each block compiled under the page's name, padded so line numbers match.
_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for page, line, code in json.load(sys.stdin):
    print(f"--- {page}:{line}", flush=True)
    exec(compile("\\n" * (line - 1) + code, page, "exec"), namespace)
"""


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    blocks = [b for b in ALL_BLOCKS[page] if not b.not_run]
    missing = sorted({b.requires for b in blocks if b.requires and not _available(b.requires)})
    blocks = [b for b in blocks if not (b.requires and b.requires in missing)]
    if not blocks:
        pytest.skip(f"every example of {page.name} needs {missing}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSHELF_")}
    env.update(
        MODELSHELF_CACHE_DIR=str(tmp_path / "cache"),
        MODELSHELF_PROGRESS="0",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    )
    work = tmp_path / "work"
    work.mkdir()
    payload = json.dumps([[str(b.page.relative_to(ROOT)), b.line, b.code] for b in blocks])
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=payload,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"an example in {page.relative_to(ROOT)} failed\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    )
    if missing:
        pytest.skip(f"ran {len(blocks)} block(s); skipped those that need {missing}")


def test_only_a_handful_of_examples_are_not_run() -> None:
    not_run = [b for blocks in ALL_BLOCKS.values() for b in blocks if b.not_run is not None]
    where = [f"{b.page.relative_to(ROOT)}:{b.line}: {b.not_run}" for b in not_run]
    assert len(not_run) <= MAX_NOT_RUN, "too many examples are not run:\n" + "\n".join(where)
    assert all(b.not_run for b in not_run), "a not-run marker must say why:\n" + "\n".join(where)
    assert sum(len(blocks) for blocks in ALL_BLOCKS.values()) >= 20, "the extractor found no code"


def test_extractor_reads_markers_and_lines(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n<!-- not-run: needs a bucket -->\n```python\n"
        "y = 2\n```\n\n- item\n\n  ```python\n  z = x\n  ```\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(page)
    assert [(b.line, b.code, b.not_run) for b in blocks] == [
        (4, "x = 1\n", None),
        (9, "y = 2\n", "needs a bucket"),
        (15, "z = x\n", None),
    ]
    page.write_text("<!-- not-run: stray -->\n\ntext\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="right before"):
        extract_blocks(page)


API_PAGES = {
    name: DOCS / "reference" / "api" / f"{name}.md"
    for name in (
        "artifacts",
        "cas",
        "errors",
        "flavors",
        "gc",
        "mlflow_plugin",
        "models",
        "pyfunc",
        "registry",
        "runs",
        "serve",
        "storage",
        "testing",
        "uri",
    )
}


@pytest.mark.parametrize("name", sorted(API_PAGES))
def test_api_reference_names_every_public_name(name: str) -> None:
    module = importlib.import_module(f"modelshelf.{name}")
    text = API_PAGES[name].read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: [\w.]+\.(\w+)\s*$", text, re.M))
    missing = sorted(set(module.__all__) - documented)
    assert not missing, f"add a '::: <module>.<name>' line to {API_PAGES[name]} for: {missing}"


def test_top_level_api_page_names_every_public_name() -> None:
    import modelshelf

    text = (DOCS / "reference" / "api" / "modelshelf.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in modelshelf.__all__
        if name != "__version__" and not re.search(rf"(`{name}`|\.{name}\s*$)", text, re.M)
    ]
    assert not missing, f"docs/reference/api/modelshelf.md does not mention: {missing}"


def test_flavor_plugin_page_shows_the_tested_plugin() -> None:
    source = ROOT / "tests/flavors/plugin_pkg/src/modelshelf_toyflavor/__init__.py"
    page = DOCS / "how-to" / "write-a-flavor.md"
    codes = [b.code for b in ALL_BLOCKS[page]]
    assert source.read_text(encoding="utf-8") in codes, f"{page} must show {source} unchanged"


def test_docs_do_not_point_outside_the_repository() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in PAGES
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\]\((\.\./)+shared/|/work/", line)
    ]
    assert not offenders, offenders
