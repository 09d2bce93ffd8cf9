"""The one URI resolver: ``models:/``, ``runs:/``, ``sha256:``, local paths and folder URLs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest, Tree
from modelshelf.errors import ArtifactNotFoundError, MissingDependencyError, ObjectNotFoundError
from modelshelf.runs import RunsClient
from modelshelf.uri._parse import ParsedURI, parse_uri

if TYPE_CHECKING:
    from modelshelf.registry import RegistryClient

__all__ = ["Resolved", "resolve_uri"]

_MANIFEST_TAIL = b'"type":"modelshelf.tree","version":1}'


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a URI names.

    Attributes:
        uri: the URI as given.
        scheme: ``runs``, ``models``, ``sha256``, ``local`` or ``fsspec``.
        kind: ``"tree"`` (a folder) or ``"blob"`` (one file).
        digest: the file's digest or the folder's tree digest (None for paths and URLs).
        path: the path within what the URI's head names: the run's artifact path, the
            sub-path after a model version, or after a digest; ``""`` for the whole.
        root: the stored blob/tree ``path`` lies within (the version's tree, the logged
            artifact, the digest given).
        tree: the folder's manifest (it may not be stored when it is a sub-folder).
        size: bytes in the file or folder (None for paths and URLs).
        name, version, alias, stage: the registered model and version, for ``models:/``.
        run_id, artifact_path: lineage: the run and path the bytes were logged at.
        model_id: the logged model id (``m-…``), when known.
        location: the local path or URL, for plain paths and folder URLs.
        immutable: the URI names these bytes forever (digests, logged artifacts, versions).
    """

    uri: str
    scheme: str
    kind: Literal["tree", "blob"]
    digest: Digest | None
    path: str = ""
    root: Digest | None = None
    tree: Tree | None = field(default=None, repr=False, compare=False)
    size: int | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    model_id: str | None = None
    location: str | None = None
    immutable: bool = False


def resolve_uri(
    uri: str | os.PathLike[str],
    shelf: str | Shelf | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
    runs: RunsClient | None = None,
    registry: RegistryClient | None = None,
) -> Resolved:
    """Resolve a model or artifact URI to a digest (and lineage), reading as little as it can.

    Forms: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``,
    ``models:/<name>/<stage>``, ``models:/m-<id>`` (a logged model), each optionally followed
    by ``/<path>``; ``runs:/<run_id>/<path>``; ``sha256:<hex>[/<path>]``; a local path or
    ``file://`` URL; an fsspec folder URL (``s3://…``, read with ``storage_options``).
    ``runs`` and ``registry`` are the clients that read runs and versions (default: new ones
    on ``shelf``, with the keys of the environment).

    Raises:
        InvalidURIError: the URI is malformed.
        ModelNotFoundError, VersionNotFoundError, AliasNotFoundError: from the registry.
        RunNotFoundError, ArtifactNotFoundError: the run or path does not exist.
        ObjectNotFoundError: no such digest on the shelf, or no such local path / URL.
    """
    parsed = parse_uri(uri)
    if parsed.scheme == "local":
        return _resolve_local(parsed)
    if parsed.scheme == "fsspec":
        return _resolve_fsspec(parsed, storage_options or {})
    shelf_obj = get_shelf(shelf)
    runs = runs or RunsClient(shelf_obj)
    if parsed.scheme == "runs":
        assert parsed.run_id is not None
        located = runs.locate_artifact(parsed.run_id, parsed.path)
        return Resolved(
            uri=parsed.uri, scheme="runs", kind=located.kind, digest=located.digest,
            path=parsed.path, root=located.root, tree=located.tree, size=located.size,
            run_id=parsed.run_id, artifact_path=parsed.path,
            immutable=located.pointer is not None,
        )  # fmt: skip
    if parsed.scheme == "sha256":
        return _resolve_digest(parsed, shelf_obj)
    return _resolve_models(parsed, shelf_obj, runs, registry)


def _resolve_local(parsed: ParsedURI) -> Resolved:
    assert parsed.location is not None
    path = os.path.abspath(os.path.expanduser(parsed.location))
    if not os.path.exists(path):
        raise ObjectNotFoundError(f"{parsed.uri!r}: no such file or folder ({path})")
    kind: Literal["tree", "blob"] = "tree" if os.path.isdir(path) else "blob"
    return Resolved(parsed.uri, "local", kind, None, location=path)


def _resolve_fsspec(parsed: ParsedURI, options: dict[str, Any]) -> Resolved:
    import fsspec

    from modelshelf.storage._errors import translate

    assert parsed.location is not None
    try:
        fs, path = fsspec.core.url_to_fs(parsed.location, **options)
        info = fs.info(path)
    except ImportError as exc:
        raise MissingDependencyError(
            f"reading {parsed.uri!r} needs a package that is not installed: {exc}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - vendor errors, translated in the storage table
        error = translate(exc, key=parsed.location, url=parsed.location, op="read")
        if isinstance(error, ObjectNotFoundError):
            raise ObjectNotFoundError(f"{parsed.uri!r}: nothing is there") from exc
        raise error from exc
    kind: Literal["tree", "blob"] = "tree" if info.get("type") == "directory" else "blob"
    return Resolved(parsed.uri, "fsspec", kind, None, location=parsed.location)


def _resolve_digest(parsed: ParsedURI, shelf: Shelf) -> Resolved:
    digest = parsed.digest
    assert digest is not None
    blobs = shelf.blobs
    try:
        cached = blobs.fetch(digest)
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(
            f"{parsed.uri!r}: no blob or tree {digest} on the shelf {shelf.url}"
        ) from exc
    size = cached.stat().st_size
    with open(cached, "rb") as handle:
        first = handle.read(1)
        handle.seek(max(0, size - len(_MANIFEST_TAIL)))
        tail = handle.read()
    if first == b"{" and tail == _MANIFEST_TAIL:
        tree = blobs.read_tree(digest)
        kind, sub_digest, sub_tree, sub_size = _within(tree, digest, parsed.path, parsed.uri)
        return Resolved(
            parsed.uri, "sha256", kind, sub_digest, path=parsed.path, root=digest,
            tree=sub_tree, size=sub_size, immutable=True,
        )  # fmt: skip
    if parsed.path:
        raise ArtifactNotFoundError(f"{parsed.uri!r}: {digest} is a file, not a folder")
    return Resolved(parsed.uri, "sha256", "blob", digest, root=digest, size=size, immutable=True)


def _within(
    tree: Tree, root: Digest, sub: str, what: str
) -> tuple[Literal["tree", "blob"], Digest, Tree | None, int]:
    """The file or folder ``sub`` of ``tree``."""
    if not sub:
        return "tree", root, tree, tree.size
    entry = tree.get(sub)
    if entry is not None:
        return "blob", entry.digest, None, entry.size
    inner = tree.subtree(sub)
    if not len(inner):
        names = sorted({e.path.split("/", 1)[0] for e in tree})
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise ArtifactNotFoundError(f"{what}: there is no {sub!r} in it; it holds: {shown}")
    return "tree", inner.digest, inner, inner.size


def _resolve_models(
    parsed: ParsedURI, shelf: Shelf, runs: RunsClient, registry: RegistryClient | None
) -> Resolved:
    if parsed.selector == "logged":
        assert parsed.model_id is not None
        logged = runs.get_logged_model(parsed.model_id)
        root = Digest.parse(logged.digest)
        tree = shelf.blobs.read_tree(root)
        return Resolved(
            parsed.uri, "models", "tree", root, root=root, tree=tree, size=tree.size,
            run_id=logged.run_id, artifact_path=logged.artifact_path,
            model_id=logged.model_id, immutable=True,
        )  # fmt: skip
    if registry is None:
        from modelshelf.registry import RegistryClient

        registry = RegistryClient(shelf)
    assert parsed.name is not None
    mv = registry.resolve_version(
        parsed.name,
        version=parsed.version,
        alias=parsed.alias,
        stage=parsed.stage,
    )
    root = Digest.parse(mv.digest)
    _check_lineage(mv, shelf, runs)
    tree = shelf.blobs.read_tree(root)
    what = f"{parsed.uri!r} (model {mv.name!r} version {mv.version})"
    kind, digest, sub_tree, size = _within(tree, root, parsed.path, what)
    lineage = dict(getattr(mv, "lineage", None) or {})
    return Resolved(
        parsed.uri, "models", kind, digest, path=parsed.path, root=root, tree=sub_tree,
        size=size, name=mv.name, version=int(mv.version), alias=parsed.alias,
        stage=parsed.stage, run_id=mv.run_id or lineage.get("run_id"),
        artifact_path=lineage.get("artifact_path") or getattr(mv, "artifact_path", None),
        model_id=getattr(mv, "model_id", None), immutable=parsed.selector == "version",
    )  # fmt: skip


def _check_lineage(mv: Any, shelf: Shelf, runs: RunsClient) -> None:
    """With trusted keys, a version registered from ``runs:/`` must still match its run's
    signed pointer: a swapped or unsigned pointer raises SignatureError naming it."""
    lineage = dict(getattr(mv, "lineage", None) or {})
    run_id, path = lineage.get("run_id"), lineage.get("artifact_path")
    if not run_id or not path:
        return
    from modelshelf.signing import trust_fingerprint

    trust = trust_fingerprint()
    if not trust:
        return
    from modelshelf.errors import SignatureError

    seen = (shelf.url, run_id, path, mv.digest, trust)
    if seen in _LINEAGE_CHECKED:  # pointers are write-once: once per process is enough
        return
    located = runs.locate_artifact(run_id, path)
    if located.digest != Digest.parse(mv.digest):
        raise SignatureError(
            f"model {mv.name!r} version {mv.version} is {mv.digest}, but its run's signed "
            f"pointer runs:/{run_id}/{path} names {located.digest}; one of them was replaced"
        )
    _LINEAGE_CHECKED.add(seen)


_LINEAGE_CHECKED: set[tuple[str, str, str, str, str]] = set()
