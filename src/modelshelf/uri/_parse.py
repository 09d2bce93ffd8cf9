"""Parse a model or artifact URI into what it asks for, without touching any storage."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from modelshelf.cas import Digest, check_relpath
from modelshelf.errors import InvalidInputError, InvalidPathError, InvalidURIError
from modelshelf.runs import check_run_id, clean_artifact_path

__all__ = ["ParsedURI", "parse_runs_uri", "parse_uri"]

_STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_LOGGED_MODEL = re.compile(r"^m-[0-9a-f]{32}$")
_UNSUPPORTED = ("mlflow-artifacts", "dbfs", "wasbs", "wasb", "hdfs", "viewfs", "uc")

Scheme = Literal["runs", "models", "sha256", "local", "fsspec"]


@dataclass(frozen=True, slots=True)
class ParsedURI:
    """The parts of a URI.

    Attributes:
        scheme: ``runs``, ``models``, ``sha256``, ``local`` (a path) or ``fsspec`` (a URL).
        path: the sub-path: the artifact path of ``runs:/``, the path after the version or
            alias of ``models:/``, after the digest of ``sha256:``; ``""`` for the whole.
        selector: for ``models:/``: ``version``, ``alias``, ``latest``, ``stage`` or ``logged``.
    """

    uri: str
    scheme: Scheme
    path: str = ""
    run_id: str | None = None
    name: str | None = None
    selector: str | None = None
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    model_id: str | None = None
    digest: Digest | None = None
    location: str | None = None


def parse_uri(uri: str | os.PathLike[str]) -> ParsedURI:
    """Split ``uri`` into its parts: the one parser of every URI form modelshelf reads.

    The ``models:/`` and ``runs:/`` forms follow MLflow's parser: stages and ``latest`` match
    case-insensitively, versions are ASCII digits (``007`` is version 7, ``0`` is refused),
    ``models:///name/1`` equals ``models:/name/1``. A ``models://<profile>/…`` or
    ``runs://<profile>/…`` URI names another tracking server (a Databricks profile in
    MLflow) and is refused. Beyond MLflow, a sub-path may follow a version, alias or run.

    Raises:
        InvalidURIError: a malformed ``runs:/``, ``models:/`` or ``sha256:`` URI, or a scheme
            modelshelf cannot read.
    """
    text = os.fspath(uri)
    if not isinstance(text, str) or not text:
        raise InvalidURIError(f"not a model or artifact URI: {uri!r}")
    if "\x00" in text:
        raise InvalidURIError(f"URI {text!r} contains a NUL byte")
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if scheme == "runs":
        run_id, path = parse_runs_uri(text)
        return ParsedURI(text, "runs", path=path, run_id=run_id)
    if scheme == "models":
        return _parse_models(text)
    if scheme == "sha256":
        head, _, sub = text.partition("/")
        try:
            digest = Digest.parse(head)
        except InvalidInputError as exc:
            raise InvalidURIError(
                f"{text!r} is not a digest URI: expected 'sha256:<64 lowercase hex>[/<path>]'"
            ) from exc
        return ParsedURI(text, "sha256", path=_sub(text, sub), digest=digest)
    if not scheme or len(scheme) == 1 or scheme == "file":  # 'C:' is a Windows drive
        path = text
        if scheme == "file":
            path = text[len("file:") :]
            if path.startswith("//"):
                path = path[2:]
                if path.startswith("localhost/"):
                    path = path[len("localhost") :]
            path = unquote(path)  # as MLflow's local_file_uri_to_path: file:///a%20b is 'a b'
        return ParsedURI(text, "local", location=path)
    if scheme in _UNSUPPORTED:
        raise InvalidURIError(
            f"{text!r}: {scheme}:// URIs belong to an MLflow server or Databricks; "
            "download the files and give a folder, or use a shelf URI"
        )
    if "://" not in text:
        raise InvalidURIError(
            f"{text!r} is not a URI modelshelf resolves: use models:/, runs:/, sha256:, a "
            "local path or a folder URL such as s3://bucket/path"
        )
    from fsspec.registry import known_implementations, registry

    if scheme not in known_implementations and scheme not in registry:
        raise InvalidURIError(f"{text!r}: no filesystem is known for the scheme {scheme!r}")
    return ParsedURI(text, "fsspec", location=text)


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """Split ``runs:/<run_id>[/<path>]`` into the run id and the artifact path (``""``: root).

    Raises:
        InvalidURIError: not of that form, the id is not 32 hex, or the path escapes the run.
    """
    if not isinstance(uri, str) or not uri[:5].lower() == "runs:" or uri[5:6] != "/":
        raise InvalidURIError(f"{uri!r} is not a runs:/ URI (expected 'runs:/<run_id>/<path>')")
    rest = uri[len("runs:/") :]
    if rest.startswith("/") and not rest.startswith("//"):
        raise InvalidURIError(
            f"{uri!r}: runs:// with a profile or host names another tracking server, which "
            "is not supported; write runs:/<run_id>/<path>"
        )
    rest = rest.lstrip("/")  # runs:///id/path is accepted by MLflow too
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidURIError(f"{uri!r} names no run (expected 'runs:/<run_id>/<path>')")
    if check_run_id(run_id) is None:
        raise InvalidURIError(
            f"{uri!r}: {run_id!r} is not a run id (run ids are 32 lowercase hex characters)"
        )
    try:
        return run_id, clean_artifact_path(path)
    except InvalidPathError as exc:
        raise InvalidURIError(f"{uri!r}: {exc}") from exc


def _parse_models(text: str) -> ParsedURI:
    rest = text[len("models:") :]
    if rest.startswith("//") and not rest.startswith("///"):
        raise InvalidURIError(
            f"{text!r}: models:// with a profile or host is not supported; "
            "write models:/<name>/<version> or models:/<name>@<alias>"
        )
    rest = rest.lstrip("/")
    parts = rest.split("/")
    head = parts[0]
    proper = (
        f"{text!r} is not a proper models:/ URI: expected models:/<name>/<version>, "
        "models:/<name>/latest, models:/<name>/<stage> or models:/<name>@<alias> "
        "(optionally followed by /<path>)"
    )
    if "@" in head:
        name, _, alias = head.rpartition("@")
        if not name or not alias:
            raise InvalidURIError(proper)
        sub = _sub(text, "/".join(parts[1:]))
        if alias.lower() == "latest":
            return ParsedURI(text, "models", path=sub, name=name, selector="latest")
        return ParsedURI(text, "models", path=sub, name=name, selector="alias", alias=alias)
    if len(parts) == 1:
        if _LOGGED_MODEL.match(head):
            return ParsedURI(text, "models", model_id=head, selector="logged")
        raise InvalidURIError(
            proper if not head else
            f"{text!r} names no version: write models:/{head}/<version>, models:/{head}/latest "
            f"or models:/{head}@<alias>"
        )  # fmt: skip
    name, suffix = head, parts[1]
    if not name or not suffix:
        raise InvalidURIError(proper)
    sub = _sub(text, "/".join(parts[2:]))
    if suffix.isascii() and suffix.isdigit():
        if int(suffix) < 1:
            raise InvalidURIError(f"{text!r}: version numbers start at 1")
        return ParsedURI(
            text, "models", path=sub, name=name, selector="version", version=int(suffix)
        )
    if suffix.lower() == "latest":
        return ParsedURI(text, "models", path=sub, name=name, selector="latest")
    stage = _STAGES.get(suffix.lower())
    if stage is None:
        raise InvalidURIError(
            f"{text!r}: {suffix!r} is not a version number, 'latest' or a stage "
            f"({', '.join(_STAGES.values())})"
        )
    return ParsedURI(text, "models", path=sub, name=name, selector="stage", stage=stage)


def _sub(text: str, sub: str) -> str:
    sub = sub.rstrip("/")
    if not sub:
        return ""
    try:
        return check_relpath(sub)
    except InvalidInputError as exc:
        raise InvalidURIError(f"{text!r}: {exc}") from exc
