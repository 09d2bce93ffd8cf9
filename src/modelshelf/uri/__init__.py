"""The one URI resolver every loader and download uses.

``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``,
``models:/<name>/<stage>`` and ``models:/m-<id>`` (each optionally followed by ``/<path>``),
``runs:/<run_id>/<path>``, ``sha256:<hex>[/<path>]``, local paths and fsspec folder URLs.
"""

from __future__ import annotations

from modelshelf.uri._cached import CacheProblem, CacheReport, verify_cache
from modelshelf.uri._download import download_uri, local_model_dir
from modelshelf.uri._parse import ParsedURI, parse_uri
from modelshelf.uri._resolve import Resolved, resolve_uri

__all__ = [
    "CacheProblem",
    "CacheReport",
    "ParsedURI",
    "Resolved",
    "download_uri",
    "local_model_dir",
    "parse_uri",
    "resolve_uri",
    "verify_cache",
]
