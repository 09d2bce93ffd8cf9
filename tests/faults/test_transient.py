"""Transient backend failures under every writing and reading operation, on real emulators.

A fault-injecting proxy (tests/_faults.py) sits between the client and the emulator. Each
operation must either succeed (retries) or fail with a typed ModelshelfError; afterwards,
with the faults gone, nothing is half-visible: the registry verifies deep, the state is
what the call reported, and running the call again succeeds.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from modelshelf.errors import ModelshelfError
from tests._faults import Fault, Rule
from tests.faults._scenarios import SCENARIOS, Ctx
from tests.faults.conftest import HANG, FaultyShelf

# name -> (fault, how many times it fires: None = until cleared)
FAULTS: dict[str, Fault] = {
    "500": Fault("status", status=500, code="InternalError"),
    "503-slowdown": Fault("status", status=503, code="SlowDown"),
    "429": Fault("status", status=429, code="TooManyRequests"),
    "500-after-write": Fault("status_after", status=500, code="InternalError"),
    "lost-response": Fault("drop_after"),
    "reset": Fault("reset"),
    "reset-mid-body": Fault("reset_body", after_bytes=7),
    "hang": Fault("delay", delay=HANG),
}
# Faults that make sense for reads vs writes (a reset mid-body needs a body to cut).
_WRITE_FAULTS = ("500", "503-slowdown", "429", "500-after-write", "lost-response", "reset", "hang")
_READ_FAULTS = ("500", "503-slowdown", "429", "reset", "reset-mid-body", "hang")


def _faults_for(op: str) -> tuple[str, ...]:
    return _READ_FAULTS if op == "download" else _WRITE_FAULTS


def run_case(faulty: FaultyShelf, tmp_path: Path, trained: Any, files: Path, op: str,
             fault: str, times: int | None) -> str:  # fmt: skip
    """Run ``op`` under ``fault``; check the invariants; return the outcome for the matrix."""
    scenario = SCENARIOS[op]
    ctx = Ctx(files=files, model=trained, work=tmp_path, values={})
    direct = faulty.direct()
    scenario.prepare(direct, ctx)
    client = faulty.client()
    before = faulty.proxy.fired()
    where: dict[str, Any] = {"path": scenario.path}
    if faulty.backend == "fakegcs" and scenario.path != ".":
        # gcsfs uploads name the object in the multipart body, reads in the (encoded) path.
        encoded = scenario.path.replace("/", "%2F")
        where = {"path": "."} if scenario.method == "GET" else {"path": ".", "body": scenario.path}
        if scenario.method == "GET":
            where["path"] = encoded
    rule = Rule(FAULTS[fault], method=scenario.method, times=times, **where)
    faulty.proxy.add(rule)
    started = time.monotonic()
    error: BaseException | None = None
    try:
        scenario.act(client, ctx)
    except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
        error = exc
    elapsed = time.monotonic() - started
    faulty.proxy.clear()
    fired = faulty.proxy.fired() - before
    assert fired >= 1, f"{op}/{fault}: the fault never fired; the test would prove nothing"
    if error is not None:
        assert isinstance(error, ModelshelfError), f"{op}/{fault}: untyped {error!r}"
        if os.environ.get("FAULTS_TRACE"):
            traceback.print_exception(error)
    # With the faults gone, through a client that bypasses the proxy:
    direct = faulty.direct()
    report = direct.verify(deep=True)
    assert report.ok, f"{op}/{fault}: {report}"
    scenario.check(direct, ctx, error is None)
    if error is not None:  # running the call again succeeds, and leaves what it reports
        scenario.act(faulty.client(), ctx)
        scenario.check(faulty.direct(), ctx, True)
        assert faulty.direct().verify(deep=True).ok
    outcome = "ok" if error is None else f"typed {type(error).__name__}"
    return f"{op} x {fault} x {faulty.backend} ({'persistent' if times is None else times}): " \
        f"{outcome}, {fired} injected, {elapsed:.1f}s"  # fmt: skip


# The default run: the lost-response hazard on a registry commit and one fault per other
# kind; the slow matrix below covers every operation x fault.
_FAST = [
    ("register", "lost-response"),
    ("alias", "500-after-write"),
    ("log_artifacts", "503-slowdown"),
    ("download", "reset-mid-body"),
]


@pytest.mark.xdist_group("moto")
@pytest.mark.parametrize(("op", "fault"), _FAST)
def test_one_transient_fault_is_retried(
    faulty: FaultyShelf, tmp_path: Path, trained: Any, files: Path, op: str, fault: str,
    record_property: Any,
) -> None:  # fmt: skip
    line = run_case(faulty, tmp_path, trained, files, op, fault, times=1)
    record_property("storage_summary", "fault " + line)
    assert ": ok," in line, line


_MATRIX = [(op, fault) for op in SCENARIOS for fault in _faults_for(op)]
# A fault that never stops: every call must end typed. Hangs are left out (each costs the
# client timeout times every retry layer: minutes, and nothing new to learn).
# Persistent throttling is left to the bursts too: s3fs and botocore each retry SlowDown with
# backoff, and the registry retries an unsettled commit, so it takes 20-45 s to give up.
_PERSISTENT = [(op, fault) for op, fault in _MATRIX if fault in ("500", "reset", "lost-response",
               "500-after-write")]  # fmt: skip


@pytest.mark.slow
@pytest.mark.xdist_group("moto")
@pytest.mark.parametrize(("op", "fault"), _MATRIX)
def test_fault_matrix_bursts(
    faulty: FaultyShelf, tmp_path: Path, trained: Any, files: Path, op: str, fault: str,
    record_property: Any,
) -> None:  # fmt: skip
    """Two faults in a row: the retries inside the SDK and storage ride them out."""
    line = run_case(faulty, tmp_path, trained, files, op, fault, times=2)
    record_property("storage_summary", "fault " + line)
    assert ": ok," in line, line


@pytest.mark.slow
@pytest.mark.xdist_group("moto")
@pytest.mark.parametrize(("op", "fault"), _PERSISTENT)
def test_fault_matrix_persistent(
    faulty: FaultyShelf, tmp_path: Path, trained: Any, files: Path, op: str, fault: str,
    record_property: Any,
) -> None:  # fmt: skip
    line = run_case(faulty, tmp_path, trained, files, op, fault, times=None)
    record_property("storage_summary", "fault " + line)


# fake-gcs-server through gcsfs: its own retry layer (6 tries, exponential backoff) and its
# own error shapes. One fault of each kind, under the operations that write or read most.
_GCS = [
    ("register", "lost-response"),
    ("register", "503-slowdown"),
    ("alias", "500-after-write"),
    ("log_artifacts", "500"),
    ("log_model", "reset"),
    ("log_artifacts", "429"),
    ("download", "reset-mid-body"),
    ("download", "hang"),
]


@pytest.mark.slow
@pytest.mark.xdist_group("fakegcs")
@pytest.mark.parametrize("faulty", ["fakegcs"], indirect=True)
@pytest.mark.parametrize(("op", "fault"), _GCS)
def test_fault_matrix_gcs(
    faulty: FaultyShelf, tmp_path: Path, trained: Any, files: Path, op: str, fault: str,
    record_property: Any,
) -> None:  # fmt: skip
    line = run_case(faulty, tmp_path, trained, files, op, fault, times=1)
    record_property("storage_summary", "fault " + line)
    assert ": ok," in line, line
