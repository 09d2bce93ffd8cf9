"""``modelshelf.models.utils``: MLflow's model utilities (``mlflow.models.<name>``).

A facade at the top of the layers: it loads models through :mod:`modelshelf.pyfunc` and
parses payloads as the scoring server does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from modelshelf.errors import ImmutableValueError, InvalidInputError
from modelshelf.models._input_example import serving_input_json
from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import MLMODEL_FILE_NAME, Model
from modelshelf.models.signature import ModelSignature

__all__ = [
    "convert_input_example_to_serving_input",
    "get_model_info",
    "set_signature",
    "validate_serving_input",
]


def _local_digest(root: Path) -> str:
    from modelshelf.cas import Tree, TreeEntry, hash_file, scan_dir

    entries = [
        TreeEntry(f.path, hash_file(f.os_path)[0], f.size, f.executable) for f in scan_dir(root)
    ]
    return str(Tree.from_entries(entries).digest)


def get_model_info(model_uri: str | os.PathLike[str]) -> ModelInfo:
    """The :class:`~modelshelf.models.ModelInfo` of the model ``model_uri`` names.

    Read from its ``MLmodel`` file (a local folder, ``runs:/…``, ``models:/…``, ``sha256:…`` or
    a folder URL on the current shelf). ``digest`` is the tree digest of the model's files.

    Raises:
        NotFoundError: nothing at ``model_uri``, or no ``MLmodel`` in it.
        MalformedMetadataError: the ``MLmodel`` file is not valid.
        InvalidURIError: a malformed URI.
    """
    from modelshelf.uri import local_model_dir, parse_uri, resolve_uri

    uri = os.fspath(model_uri)
    root = local_model_dir(uri)
    model = Model.load(root)
    if parse_uri(uri).scheme in ("local", "fsspec"):
        digest = _local_digest(root if root.is_dir() else root.parent)
    else:
        digest = str(resolve_uri(uri).digest)
    return ModelInfo(
        name=model.artifact_path or "",
        artifact_path=model.artifact_path or "",
        run_id=model.run_id or "",
        model_id=model.model_id or "",
        model_uri=uri,
        digest=digest,
        flavors=model.flavors,
        model_uuid=model.model_uuid,
        utc_time_created=model.utc_time_created,
        mlflow_version=model.mlflow_version,
        signature=model.signature,
        saved_input_example_info=model.saved_input_example_info,
        metadata=model.metadata,
    )


def set_signature(model_uri: str | os.PathLike[str], signature: ModelSignature) -> None:
    """Replace the signature in the ``MLmodel`` file of the local model folder ``model_uri``.

    Shelf content is write-once: a logged model (``runs:/…``) or a registered version
    (``models:/…``) keeps its signature forever; load it and log it again with ``signature=``.

    Raises:
        InvalidInputError: ``signature`` is not a ``ModelSignature``; ``model_uri`` is a
            ``models:/`` URI (as MLflow) or a folder URL.
        ImmutableValueError: ``model_uri`` names shelf content (``runs:/``, ``sha256:``).
        NotFoundError: no ``MLmodel`` at ``model_uri``.
    """
    from modelshelf.uri import parse_uri

    if not isinstance(signature, ModelSignature):
        raise InvalidInputError(
            f"signature must be a ModelSignature, not {type(signature).__name__}; build one "
            "with infer_signature(...) or ModelSignature(inputs=..., outputs=...)"
        )
    uri = os.fspath(model_uri)
    scheme = parse_uri(uri).scheme
    if scheme == "models":
        raise InvalidInputError(
            f"Failed to set signature on {uri!r}: registered versions are read-only; load the "
            "model and register a new version logged with signature=..."
        )
    if scheme in ("runs", "sha256"):
        raise ImmutableValueError(
            f"Failed to set signature on {uri!r}: shelf artifacts are write-once; load the "
            "model and log it again with signature=... (or download it and set the signature "
            "on the local copy)"
        )
    if scheme != "local":
        raise InvalidInputError(
            f"Failed to set signature on {uri!r}: only local model folders can be changed; "
            "download the folder, set the signature there, and log it"
        )
    root = Path(uri)
    model = Model.load(root)
    model.signature = signature
    model.save(root / MLMODEL_FILE_NAME if root.is_dir() else root)


def convert_input_example_to_serving_input(input_example: Any) -> str | None:
    """The scoring-server JSON payload for ``input_example`` (None for None), as logged in
    ``serving_input_example.json``.

    Raises:
        InvalidInputError: the example's type is not supported or it is not JSON-serializable.
    """
    return serving_input_json(input_example)


def validate_serving_input(
    model_uri: str | os.PathLike[str], serving_input: str | dict[str, Any]
) -> Any:
    """Load the model, parse ``serving_input`` as the scoring server would, and predict.

    Args:
        model_uri: the model (any URI ``modelshelf.pyfunc.load_model`` takes).
        serving_input: a JSON payload (``dataframe_split``, ``dataframe_records``,
            ``instances``, ``inputs``, optional ``params``) as a string or a dict.

    Returns:
        The model's predictions.

    Raises:
        InvalidInputError: ``serving_input`` is not a payload the scoring server accepts.
        SchemaEnforcementError: the parsed input does not match the model's signature.
        NotFoundError: nothing at ``model_uri``.
    """
    from modelshelf.pyfunc import load_model
    from modelshelf.serve._protocol import CONTENT_TYPE_JSON, ErrorAnswer, parse_request

    if isinstance(serving_input, dict):
        body = json.dumps(serving_input).encode()
    elif isinstance(serving_input, str):
        body = serving_input.encode()
    else:
        raise InvalidInputError(
            f"serving_input must be a JSON string or a dict, not {type(serving_input).__name__}"
        )
    model = load_model(os.fspath(model_uri))
    try:
        data, params = parse_request(body, CONTENT_TYPE_JSON, model.metadata)
    except ErrorAnswer as exc:
        raise InvalidInputError(f"invalid serving input for {model_uri!s}: {exc}") from exc
    return model.predict(data, params=params)
