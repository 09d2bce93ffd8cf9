"""The one URI parser and resolver: every loader, download and registration uses it.

``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``,
``models:/<name>/<stage>`` and ``models:/m-<id>`` (each optionally followed by ``/<path>``),
``runs:/<run_id>/<path>``, ``sha256:<hex>[/<path>]``, local paths and fsspec folder URLs.
"""

from __future__ import annotations

from modelshelf.uri._cached import CacheProblem, CacheReport, verify_cache
from modelshelf.uri._download import download_uri, local_model_dir
from modelshelf.uri._parse import ParsedURI, parse_runs_uri, parse_uri
from modelshelf.uri._resolve import Resolved, resolve_uri
from modelshelf.uri._source import resolve_source

__all__ = [
    "CacheProblem",
    "CacheReport",
    "ParsedURI",
    "Resolved",
    "download_uri",
    "local_model_dir",
    "parse_runs_uri",
    "parse_uri",
    "resolve_source",
    "resolve_uri",
    "verify_cache",
]
