"""The ``MLmodel`` file: :class:`Model` and its YAML form, exactly as MLflow 3.x writes it.

Writing follows MLflow 3.17 (``yaml.safe_dump(default_flow_style=False)``, keys sorted,
signature values as JSON strings, ``model_id: null`` and ``prompts: null`` always present,
``run_id`` / ``artifact_path`` only when set). Reading accepts the 1.x, 2.x and 3.x shapes and
keeps every key it does not know, so a read-then-write round trip loses nothing.

Importing this module costs only PyYAML; the signature layer (numpy) loads when a signature is
parsed or written.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from modelshelf.errors import MalformedMetadataError, NotFoundError

if TYPE_CHECKING:
    from modelshelf.models.signature import ModelSignature, ParamSchema, Schema

__all__ = ["MLFLOW_FORMAT_VERSION", "MLMODEL_FILE_NAME", "PYFUNC_FLAVOR", "Model"]

#: The MLflow release whose model format modelshelf writes (written as ``mlflow_version`` and,
#: pinned, as the ``mlflow`` line of ``requirements.txt``). A constant on purpose: looking up the
#: installed MLflow would mean importing it (~0.7 s) and modelshelf must not need MLflow.
MLFLOW_FORMAT_VERSION = "3.17.2"

MLMODEL_FILE_NAME = "MLmodel"
PYFUNC_FLAVOR = "python_function"

# Attributes with a dedicated slot on Model; everything else read from a file lands in `extra`.
_KNOWN_KEYS = frozenset(
    {
        "artifact_path",
        "run_id",
        "utc_time_created",
        "flavors",
        "signature",
        "saved_input_example_info",
        "model_uuid",
        "mlflow_version",
        "metadata",
        "model_size_bytes",
        "model_id",
        "prompts",
        "is_signature_from_type_hint",
        "type_hint_from_example",
    }
)


#: Largest ``MLmodel`` read (bytes). MLflow's files are a few KB; a signature of thousands
#: of columns stays far below this.
MAX_MLMODEL_BYTES = 16 * 1024 * 1024
#: Deepest nesting of YAML collections accepted in an ``MLmodel``.
MAX_YAML_DEPTH = 64
#: Most YAML nodes an ``MLmodel`` may expand to once aliases are followed (a guard against
#: "billion laughs" files, which are small but expand to billions of nodes).
MAX_YAML_NODES = 1_000_000


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """``yaml.SafeLoader`` that refuses deep nesting (before Python's recursion limit)."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._source = source

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _too_complex(
                    self._source,
                    f"nests deeper than {MAX_YAML_DEPTH} levels (line {mark.line + 1})",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_complex(source: str, what: str) -> MalformedMetadataError:
    return MalformedMetadataError(
        f"{source} {what}; it is not an MLmodel modelshelf or MLflow would write. "
        "Restore the file from the model's source or re-save the model."
    )


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once aliases are expanded (memoised per node)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a recursive alias counts once; the constructor handles cycles
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = total
    return total


def safe_load_yaml(text: str, *, source: str = "MLmodel") -> Any:
    """``yaml.safe_load`` with bounds on nesting depth and alias expansion.

    Raises:
        MalformedMetadataError: not YAML, nested deeper than :data:`MAX_YAML_DEPTH`, or
            expanding to more than :data:`MAX_YAML_NODES` nodes.
    """
    loader = None
    try:
        loader = _BoundedLoader(text, source)
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_YAML_NODES:
            raise _too_complex(
                source,
                f"expands to {size:,} values through its aliases (the limit is {MAX_YAML_NODES:,})",
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        raise MalformedMetadataError(
            f"{source} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}. "
            "Restore the file from the model's source or re-save the model."
        ) from exc
    except RecursionError:
        raise MalformedMetadataError(
            f"{source} is nested too deeply to read; restore the file or re-save the model."
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def model_file(root: str | os.PathLike[str], rel: Any, what: str) -> Path:
    """``root/rel`` for a path MLmodel names, refused unless it stays inside the model folder.

    Raises:
        MalformedMetadataError: ``rel`` is not a relative path inside the folder.
    """
    parts = rel.replace("\\", "/").split("/") if isinstance(rel, str) else []
    if not parts or "\x00" in rel or rel.startswith("/") or ".." in parts or ":" in parts[0]:
        raise MalformedMetadataError(
            f"MLmodel names the {what} as {_brief(rel)}, which is not a relative path inside "
            f"the model folder {os.fspath(root)!r}; fix MLmodel or re-save the model."
        )
    return Path(root, *[p for p in parts if p not in ("", ".")])


def read_model_text(file: Path, what: str, *, limit: int = MAX_MLMODEL_BYTES) -> str:
    """The UTF-8 text of a small metadata file of a model folder.

    Raises:
        NotFoundError: ``file`` does not exist.
        MalformedMetadataError: a directory or special file, larger than ``limit`` bytes, or
            not UTF-8.
    """
    try:
        mode = os.stat(file).st_mode
        if stat.S_ISDIR(mode):
            raise MalformedMetadataError(
                f"'{file}' is a directory, not the model's {what}; the model folder is damaged: "
                "restore it from its source or re-save the model."
            )
        if not stat.S_ISREG(mode):  # opening a FIFO would block forever
            raise MalformedMetadataError(
                f"'{file}' is not a regular file, so it cannot be the model's {what}; restore "
                "the model folder from its source or re-save the model."
            )
        with open(file, "rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise NotFoundError(f"the model's {what} '{file}' does not exist") from None
    except (NotADirectoryError, PermissionError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):  # pragma: no cover - caught above
            raise
        raise MalformedMetadataError(
            f"cannot read the model's {what} '{file}' ({exc.strerror or exc}); it must be a "
            "readable regular file."
        ) from None
    if len(raw) > limit:
        raise MalformedMetadataError(
            f"'{file}' is larger than {limit:,} bytes; it is not a {what} modelshelf or MLflow "
            "would write. Restore it or re-save the model."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMetadataError(
            f"'{file}' is not UTF-8 text ({exc.reason} at byte {exc.start}); restore the "
            "file from the model's source or re-save the model."
        ) from None


def _utc_now_str() -> str:
    # MLflow writes str() of a naive UTC datetime; keep that exact text shape.
    return str(dt.datetime.now(dt.UTC).replace(tzinfo=None))


class Model:
    """An MLflow model's metadata: the content of its ``MLmodel`` file.

    Attributes mirror the ``MLmodel`` keys (see docs/explanation/mlflow-format.md §2). Keys this class does not
    model (``resources``, ``env_vars``, ``databricks_runtime``, future keys…) live in
    :attr:`extra` and are written back unchanged.
    """

    def __init__(
        self,
        *,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | dt.datetime | None = None,
        flavors: dict[str, Any] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        mlflow_version: str | None = MLFLOW_FORMAT_VERSION,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        is_signature_from_type_hint: bool = False,
        type_hint_from_example: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = str(utc_time_created) if utc_time_created else _utc_now_str()
        self.flavors: dict[str, Any] = flavors if flavors is not None else {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid: str | None = model_uuid if model_uuid is not None else uuid.uuid4().hex
        self.mlflow_version = mlflow_version
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.model_id = model_id
        self.prompts = prompts
        self.is_signature_from_type_hint = is_signature_from_type_hint
        self.type_hint_from_example = type_hint_from_example
        self.extra: dict[str, Any] = dict(extra or {})

    # -- flavors / schemas ---------------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Set the section ``flavors[name]`` to ``params`` (replacing it) and return self."""
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        """The signature's input schema, or None when the model has no signature."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """The signature's output schema, or None when the model has no signature."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        """The signature's params schema, or None."""
        return getattr(self.signature, "params", None) if self.signature is not None else None

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """Load the input example saved in the model directory ``path`` (None if there is none).

        Raises:
            NotFoundError: the MLmodel names an example file that is missing.
            MalformedMetadataError: the example file cannot be parsed.
        """
        from modelshelf.models._input_example import load_input_example

        return load_input_example(self, path)

    def load_input_example_params(self, path: str | os.PathLike[str]) -> dict[str, Any] | None:
        """Load the params stored with the input example, or None.

        Raises:
            NotFoundError: the MLmodel names an example file that is missing.
            MalformedMetadataError: the example file cannot be parsed.
        """
        from modelshelf.models._input_example import load_input_example_params

        return load_input_example_params(self, path)

    def get_serving_input(self, path: str | os.PathLike[str]) -> str | None:
        """The text of the serving payload example in model dir ``path``, or None.

        Raises:
            NotFoundError: MLmodel names a serving example file that is missing.
            MalformedMetadataError: the file is unreadable, or its path leaves the folder.
        """
        info = self.saved_input_example_info or {}
        rel = info.get("serving_input_path")
        if not rel:
            return None
        file = model_file(path, rel, "serving input example")
        try:
            return read_model_text(file, "serving input example")
        except NotFoundError:
            raise NotFoundError(
                f"MLmodel names a serving input example at '{rel}' but {file} does not exist."
            ) from None

    # -- dict / YAML ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``MLmodel`` mapping, shaped as MLflow 3.x writes it."""
        res: dict[str, Any] = dict(self.extra)
        res["utc_time_created"] = self.utc_time_created
        res["flavors"] = self.flavors
        res["model_uuid"] = self.model_uuid
        res["model_id"] = self.model_id
        res["prompts"] = self.prompts
        if self.mlflow_version is not None:
            res["mlflow_version"] = self.mlflow_version
        if self.artifact_path is not None:
            res["artifact_path"] = self.artifact_path
        if self.run_id is not None:
            res["run_id"] = self.run_id
        if self.signature is not None:
            res["signature"] = self.signature.to_dict()
            res["is_signature_from_type_hint"] = bool(self.is_signature_from_type_hint)
            res["type_hint_from_example"] = bool(self.type_hint_from_example)
        if self.saved_input_example_info is not None:
            res["saved_input_example_info"] = self.saved_input_example_info
        if self.metadata is not None:
            res["metadata"] = self.metadata
        if self.model_size_bytes is not None:
            res["model_size_bytes"] = self.model_size_bytes
        return res

    def to_yaml(self) -> str:
        """The ``MLmodel`` text MLflow would write for this model."""
        return str(yaml.safe_dump(self.to_dict(), default_flow_style=False))

    def __str__(self) -> str:
        return self.to_yaml()

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, model_uuid={self.model_uuid!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the YAML to ``path`` (a file path, normally ``<model dir>/MLmodel``)."""
        text = self.to_yaml()
        Path(path).write_text(text, encoding="utf-8")

    @classmethod
    def from_dict(cls, model_dict: Mapping[str, Any], *, source: str = "MLmodel") -> Model:
        """Build a Model from a parsed ``MLmodel`` mapping (any MLflow 1.x–3.x shape).

        Args:
            model_dict: the mapping.
            source: what to call the file in error messages.

        Raises:
            MalformedMetadataError: not a mapping, no ``flavors`` mapping, or a bad signature.
        """
        if not isinstance(model_dict, Mapping):
            raise MalformedMetadataError(
                f"{source} must hold a YAML mapping of MLmodel keys, got "
                f"{type(model_dict).__name__}; re-save the model or restore the file."
            )
        d = dict(model_dict)
        odd = [k for k in d if not isinstance(k, str)]
        if odd:
            raise MalformedMetadataError(
                f"{source}: MLmodel keys must be strings, got {_brief(odd[0])}; restore the "
                "file or re-save the model."
            )
        flavors = d.pop("flavors", None)
        if not isinstance(flavors, Mapping) or not flavors:
            raise MalformedMetadataError(
                f"{source} has no 'flavors' mapping (got {_brief(flavors)}); every MLflow model "
                "names at least one flavor, e.g. 'flavors: {python_function: {loader_module: "
                "...}}'. Re-save the model or fix the file."
            )
        for name, section in flavors.items():
            if not isinstance(name, str) or not name:
                raise MalformedMetadataError(
                    f"{source}: flavor names must be non-empty strings, got {_brief(name)}."
                )
            if not isinstance(section, Mapping):
                raise MalformedMetadataError(
                    f"{source}: flavor {name!r} must be a mapping of settings, got "
                    f"{type(section).__name__}."
                )
        signature = None
        raw_sig = d.pop("signature", None)
        if raw_sig is not None:
            signature = _parse_signature(raw_sig, source)
        info = d.pop("saved_input_example_info", None)
        if info is not None and not isinstance(info, Mapping):
            raise MalformedMetadataError(
                f"{source}: 'saved_input_example_info' must be a mapping, got {_brief(info)}."
            )
        metadata = d.pop("metadata", None)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise MalformedMetadataError(
                f"{source}: 'metadata' must be a mapping, got {type(metadata).__name__}."
            )
        for key, kinds in _SCALARS.items():
            value = d.get(key)
            if value is not None and not isinstance(value, kinds):
                raise MalformedMetadataError(
                    f"{source}: {key!r} must be a {' or '.join(k.__name__ for k in kinds)}, "
                    f"got {type(value).__name__} {_brief(value)}; fix the file or re-save the model."
                )
        prompts = d.get("prompts")
        if prompts is not None and not isinstance(prompts, list):
            raise MalformedMetadataError(
                f"{source}: 'prompts' must be a list, got {_brief(prompts)}."
            )
        utc = d.pop("utc_time_created", None)
        raw_uuid = d.pop("model_uuid", None)
        model = cls(
            artifact_path=d.pop("artifact_path", None),
            run_id=d.pop("run_id", None),
            utc_time_created=str(utc) if utc is not None else None,
            flavors={k: dict(v) for k, v in flavors.items()},
            signature=signature,
            saved_input_example_info=dict(info) if info is not None else None,
            mlflow_version=d.pop("mlflow_version", None),
            metadata=dict(metadata) if metadata is not None else None,
            model_size_bytes=d.pop("model_size_bytes", None),
            model_id=d.pop("model_id", None),
            prompts=d.pop("prompts", None),
            is_signature_from_type_hint=bool(d.pop("is_signature_from_type_hint", False)),
            type_hint_from_example=bool(d.pop("type_hint_from_example", False)),
            extra=d,
        )
        # A file without model_uuid reads as None (as in MLflow); never invent one on read.
        model.model_uuid = raw_uuid
        return model

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "MLmodel") -> Model:
        """Parse ``MLmodel`` text.

        Raises:
            MalformedMetadataError: the text is not YAML, or not a valid MLmodel mapping.
        """
        if not isinstance(text, str):
            raise MalformedMetadataError(
                f"{source}: MLmodel text must be a str, got {type(text).__name__}"
            )
        if len(text) > MAX_MLMODEL_BYTES:
            raise MalformedMetadataError(
                f"{source} holds {len(text):,} characters; an MLmodel is at most "
                f"{MAX_MLMODEL_BYTES:,} bytes. Restore the file or re-save the model."
            )
        return cls.from_dict(safe_load_yaml(text, source=source), source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read the ``MLmodel`` file ``path`` names, or the one inside the model folder it names.

        ``path`` is a local path, or any model URI :mod:`modelshelf.uri` resolves
        (``runs:/…``, ``models:/…``, ``sha256:…``, a folder URL) on the current shelf; shelf
        bytes come through the verified cache.

        Raises:
            NotFoundError: there is no such file or directory / no MLmodel inside it.
            MalformedMetadataError: the file is not valid YAML or not a valid MLmodel.
            InvalidURIError: a malformed model URI.
        """
        if isinstance(path, str) and ":" in path and not os.path.exists(path):
            from modelshelf.uri import local_model_dir, parse_uri

            if parse_uri(path).scheme != "local":
                path = local_model_dir(path)
        p = Path(path)
        file = p / MLMODEL_FILE_NAME if p.is_dir() else p
        try:
            text = read_model_text(file, f"{MLMODEL_FILE_NAME} file")
        except NotFoundError:
            raise NotFoundError(
                f"Could not find an {MLMODEL_FILE_NAME} file at '{file}'; pass a model "
                "directory (the folder holding MLmodel) or the MLmodel file itself."
            ) from None
        return cls.from_yaml(text, source=str(file))


# Scalar MLmodel keys and the YAML types they may hold (numbers are kept: hand-written files
# say `mlflow_version: 2.0`; collections never make sense there).
_SCALARS: dict[str, tuple[type, ...]] = {
    "artifact_path": (str,),
    "run_id": (str,),
    "model_uuid": (str,),
    "model_id": (str,),
    "mlflow_version": (str, int, float),
    "utc_time_created": (str, int, float, dt.date),
    "model_size_bytes": (int,),
}


def _brief(value: Any, limit: int = 80) -> str:
    """A short description of ``value`` for messages (never a huge repr)."""
    if isinstance(value, (Mapping, list, tuple, set)):
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_signature(raw: Any, source: str) -> ModelSignature:
    if not isinstance(raw, Mapping):
        raise MalformedMetadataError(
            f"{source}: 'signature' must be a mapping with 'inputs'/'outputs'/'params' JSON "
            f"strings, got {type(raw).__name__}."
        )
    from modelshelf.models.signature import ModelSignature

    try:
        return ModelSignature.from_dict(dict(raw))
    except MalformedMetadataError as exc:
        raise MalformedMetadataError(f"{source}: invalid signature: {exc}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMetadataError(
            f"{source}: invalid signature ({type(exc).__name__}: {exc}); each of 'inputs', "
            "'outputs', 'params' must be null or the JSON text of a list of specs."
        ) from exc
