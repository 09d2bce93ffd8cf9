"""Where run records live under the shelf, and how names become keys.

Every object below is created once and never rewritten::

    experiments/<experiment_id>.json               name, creation time, tags
    experiments/<experiment_id>/runs/<run_id>      empty marker: the run belongs here
    runs/<run_id>/meta.json                        created by create_run
    runs/<run_id>/end.json                         created by set_terminated (first end wins)
    runs/<run_id>/params/<name-key>                {"key", "value"}: write-once per name
    runs/<run_id>/metrics/<time_ns>-<rand>.json    one object per log_metric(s)/log_batch call
    runs/<run_id>/tags/<time_ns>-<rand>.json       set/delete entries; the newest wins per key
    runs/<run_id>/artifacts/<name-key>             {"path", "digest", "kind", "size"} pointer
    runs/<run_id>/dirs/<name-key>                  empty marker: artifacts exist below this path
    runs/<run_id>/models/<name-key>                a model logged at an artifact path
    logged_models/<model_id>.json                  model id -> run and artifact path

A *name-key* is the percent-encoded name (flat, so ``a`` and ``a/b`` never collide as file
and folder on a local shelf); names too long for a file name use ``~<sha256>`` and the object
holds the name.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import quote

from modelshelf.errors import MalformedMetadataError

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_EXPERIMENT_ID",
    "check_run_id",
    "dumps",
    "experiment_id_for",
    "loads",
    "name_key",
    "now_ms",
    "sequence_name",
]

DEFAULT_EXPERIMENT = "Default"
DEFAULT_EXPERIMENT_ID = "0"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_NAME_KEY = 180


def check_run_id(run_id: object) -> str | None:
    """``run_id`` when it is 32 lowercase hex, else None."""
    if isinstance(run_id, str) and _RUN_ID.match(run_id):
        return run_id
    return None


def experiment_id_for(name: str) -> str:
    """A stable id for an experiment name: racing creators of one name agree on it."""
    if name == DEFAULT_EXPERIMENT:
        return DEFAULT_EXPERIMENT_ID
    return hashlib.sha256(name.encode()).hexdigest()[:20]


def name_key(name: str) -> str:
    encoded = quote(name, safe="")
    if encoded in (".", "..") or len(encoded) > _MAX_NAME_KEY:
        return "~" + hashlib.sha256(name.encode()).hexdigest()
    return encoded


def sequence_name(suffix: str = ".json") -> str:
    """A unique, time-ordered object name for append-only records."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{suffix}"


def now_ms() -> int:
    return int(time.time() * 1000)


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes) -> Any:
    """Parse a run record.

    Raises:
        MalformedMetadataError: the bytes are not the JSON modelshelf writes.
    """
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedMetadataError(
            f"a run record is not valid JSON ({exc}); the shelf was edited or damaged: "
            "run `modelshelf verify`, or restore the object from a backup"
        ) from None
