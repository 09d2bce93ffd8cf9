"""``modelshelf+<URL>`` URIs: which shelf they name and where inside its artifact area."""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidURIError
from modelshelf.gc import MLFLOW_ARTIFACT_PREFIX

__all__ = ["ARTIFACT_PREFIX", "SCHEMES", "SCHEME_PREFIX", "shelf_for_uri", "split_artifact_uri"]

SCHEME_PREFIX = "modelshelf+"
SCHEMES = tuple(
    SCHEME_PREFIX + p for p in ("abfs", "abfss", "az", "file", "gcs", "gs", "memory", "s3", "s3a")
)
"""The URI schemes MLflow routes to modelshelf (MLflow matches a scheme exactly)."""
ARTIFACT_PREFIX = MLFLOW_ARTIFACT_PREFIX
_SEPARATOR = "/-/"
_shelves: dict[tuple[str, str], Shelf] = {}
_lock = threading.Lock()


def _inner_url(uri: str) -> str:
    if not isinstance(uri, str) or not uri.startswith(SCHEME_PREFIX):
        raise InvalidURIError(
            f"{uri!r} is not a modelshelf URI; write 'modelshelf+' before the shelf's URL, "
            "e.g. modelshelf+s3://bucket/shelf or modelshelf+file:///abs/path/shelf"
        )
    url = uri[len(SCHEME_PREFIX) :]
    parts = urlsplit(url)
    # MLflow rewrites modelshelf+file:///p to modelshelf+file:/p when it appends to a URI.
    if not parts.scheme or ("://" not in url and parts.scheme != "file"):
        raise InvalidURIError(
            f"{uri!r} has no '<protocol>://' after 'modelshelf+'; "
            "e.g. modelshelf+file:///abs/path/shelf"
        )
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidURIError(
                f"{uri!r}: a local shelf needs an absolute path, "
                "modelshelf+file:///abs/path/shelf (three slashes)"
            )
        return parts.path.rstrip("/") or "/"
    return url.rstrip("/")


def storage_options_from_env(url: str) -> dict[str, Any]:
    """What MLflow users configure in the environment, as fsspec options for ``url``.

    S3: ``MLFLOW_S3_ENDPOINT_URL`` (else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``,
    which botocore also reads) becomes ``endpoint_url``; ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` … are read by botocore itself.
    """
    options: dict[str, Any] = {}
    if urlsplit(url).scheme in ("s3", "s3a"):
        for name in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
            if os.environ.get(name):
                options["endpoint_url"] = os.environ[name]
                break
    return options


def shelf_for_uri(uri: str) -> Shelf:
    """The shelf a ``modelshelf+…`` registry or artifact URI names (one per URL, reused).

    Raises:
        InvalidURIError: not a ``modelshelf+<protocol>://…`` URI.
    """
    url = _inner_url(uri).split(_SEPARATOR, 1)[0]
    if url.endswith("/-"):
        url = url[:-2]
    options = storage_options_from_env(url)
    key = (url, repr(sorted(options.items())))
    with _lock:
        shelf = _shelves.get(key)
        if shelf is None:
            shelf = _shelves[key] = Shelf(url, **options)
        return shelf


def split_artifact_uri(uri: str) -> tuple[str, str]:
    """``(shelf URI, folder)``: ``modelshelf+s3://b/shelf/-/exp/run/artifacts`` gives
    ``("modelshelf+s3://b/shelf", "exp/run/artifacts")``.

    Raises:
        InvalidURIError: no ``/-/`` separates the shelf from the folder, or a bad folder.
    """
    _inner_url(uri)
    text = uri.rstrip("/")
    if text.endswith("/-"):
        root, folder = text[:-2], ""
    elif _SEPARATOR in text:
        root, folder = text.split(_SEPARATOR, 1)
    else:
        raise InvalidURIError(
            f"{uri!r} does not say where the shelf ends: MLflow appends run folders to an "
            "artifact location, so write it as modelshelf+<shelf URL>/-/<folder>, e.g. "
            "modelshelf+s3://bucket/shelf/-/experiments/churn"
        )
    parts = [p for p in folder.split("/") if p]
    if any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
        raise InvalidURIError(f"{uri!r}: the folder after '/-/' may not contain '.', '..' or '\\'")
    return root, "/".join(parts)
