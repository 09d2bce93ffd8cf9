"""``spark_udf``: a model as a Spark pandas UDF, with MLflow's semantics.

The driver resolves the URI once (an alias is pinned to the tree digest it names now, so
every executor scores with the same bytes). Executors get the model one of two ways:

- ``"shelf"``: each executor reads the tree from the shelf into its own verified cache
  (every byte checked against its digest) and loads it once per Python worker;
- ``"broadcast"``: the driver ships the folder as a Spark broadcast; executors unpack it and
  check every file against the tree's digests before loading it.

``"auto"`` (the default) reads from the shelf when the shelf is an object store or Spark runs
in local mode, and broadcasts otherwise (a local-path shelf is not visible to a cluster).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["spark_udf"]

_DISTRIBUTE = ("auto", "shelf", "broadcast")


@dataclass(frozen=True)
class _ModelRef:
    """What the UDF's closure carries to executors (small and picklable)."""

    how: str
    digest: str | None
    shelf_url: str | None
    storage_options: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 hex, for broadcast
    broadcast: Any = None
    model_config: dict[str, Any] | None = None
    extra_env: dict[str, str] | None = None

    def key(self) -> tuple[Any, ...]:
        return (self.how, self.digest, self.shelf_url, repr(self.model_config))


def spark_udf(
    spark: Any,
    model_uri: str,
    result_type: Any = None,
    env_manager: str | None = None,
    params: dict[str, Any] | None = None,
    extra_env: dict[str, str] | None = None,
    prebuilt_env_uri: str | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    distribute: str = "auto",
) -> Any:
    """A Spark UDF that predicts with a python_function model, as ``mlflow.pyfunc.spark_udf``.

    Call the UDF with columns (``udf("a", "b")``, ``udf(struct("a", "b"))``) or with none,
    to use the input names of the model's signature. Unnamed columns are given the
    signature's input names in order (``0, 1, …`` without a signature); a struct passes its
    field names. A tensor model takes one array column per input and reshapes it to the
    signature's shape.

    Args:
        spark: the ``SparkSession``.
        model_uri: any model URI; ``models:/name@alias`` is resolved once, on the driver.
        result_type: a Spark ``DataType`` or DDL string (``"double"``, ``"array<double>"``,
            ``"struct<a:int,b:string>"``); by default inferred from the output signature,
            else ``double``.
        env_manager: ``None`` or ``"local"``: the model runs in the executors' Python, which
            must have the model's requirements (and modelshelf) installed.
        params: inference params, checked against the signature on the driver.
        extra_env: environment variables set on executors while the model predicts.
        prebuilt_env_uri: not supported (it restores MLflow-built environments).
        model_config: passed to the loader, as ``load_model(model_config=…)``.
        distribute: ``"auto"``, ``"shelf"`` or ``"broadcast"`` (see the module docs).

    Returns:
        A callable that builds a Spark column, with ``metadata`` (the MLmodel).

    Raises:
        ConfigurationError: an unsupported ``env_manager``, ``prebuilt_env_uri`` or
            ``distribute``; a result type spark_udf cannot produce.
        MissingDependencyError: pyspark is not installed (the ``spark`` extra).
        SchemaEnforcementError: ``params`` do not match the signature.
        NotFoundError, InvalidURIError: the model cannot be resolved.
    """
    from modelshelf.errors import ConfigurationError, MissingDependencyError

    try:
        from pyspark.sql.functions import pandas_udf  # type: ignore[attr-defined]
    except ImportError as exc:
        raise MissingDependencyError(
            "spark_udf needs pyspark: install the extra with `pip install 'modelshelf[spark]'`"
        ) from exc
    if env_manager not in (None, "local"):
        raise ConfigurationError(
            f"env_manager={env_manager!r} is not supported: modelshelf scores in the executors' "
            "own Python (env_manager='local'); install the model's requirements there"
        )
    if prebuilt_env_uri is not None:
        raise ConfigurationError(
            "prebuilt_env_uri is not supported: the model runs in the executors' own Python"
        )
    if distribute not in _DISTRIBUTE:
        raise ConfigurationError(f"distribute must be one of {_DISTRIBUTE}, got {distribute!r}")

    from modelshelf.models import Model
    from modelshelf.models._enforce import enforce_params

    ref, local = _reference(spark, model_uri, distribute, model_config, extra_env)
    metadata = Model.load(os.path.join(local, "MLmodel"))
    signature = metadata.signature
    if params is not None or (signature is not None and signature.params is not None):
        params = enforce_params(params, signature.params if signature is not None else None)
    result_type = _result_type(result_type, metadata)
    input_schema = metadata.get_input_schema()
    is_struct = type(result_type).__name__ == "StructType"

    def predict_batches(iterator):  # type: ignore[no-untyped-def]
        import pandas as pd

        model = _load(ref)
        for batch in iterator:
            args = (batch,) if isinstance(batch, (pd.Series, pd.DataFrame)) else tuple(batch)
            if len(args[0]) == 0:
                continue
            frame = _frame(args, input_schema)
            with _environ(ref.extra_env):
                result = model.predict(frame, params=params)
            yield _convert_result(result, result_type)

    import typing

    import pandas as pd

    # Spark picks the UDF kind (iterator of batches of several columns) from these hints.
    predict_batches.__annotations__ = {
        "iterator": typing.Iterator[typing.Tuple[typing.Union[pd.Series, pd.DataFrame], ...]],  # noqa: UP006, UP007
        "return": typing.Iterator[pd.DataFrame] if is_struct else typing.Iterator[pd.Series],
    }
    udf = pandas_udf(predict_batches, result_type)

    def udf_with_default_columns(*args: Any) -> Any:
        if args:
            return udf(*args)
        if input_schema is None or not len(input_schema.inputs):
            raise ConfigurationError(
                "Attempting to apply udf on zero columns because no column names were "
                "specified as arguments or inferred from the model signature."
            )
        if input_schema.optional_input_names():
            raise ConfigurationError(
                "Cannot apply UDF without column names specified when model signature "
                "contains optional columns."
            )
        if not input_schema.has_input_names():
            raise ConfigurationError(
                "Cannot apply udf because no column names specified. The udf expects "
                f"{len(input_schema.inputs)} columns with types: {input_schema.inputs}. Input "
                "column names could not be inferred from the model signature."
            )
        return udf(*input_schema.input_names())

    udf_with_default_columns.metadata = metadata  # type: ignore[attr-defined]
    udf_with_default_columns.__name__ = "spark_udf"
    return udf_with_default_columns


# ------------------------------------------------------------------------------ the driver side
def _reference(
    spark: Any,
    model_uri: str,
    distribute: str,
    model_config: dict[str, Any] | None,
    extra_env: dict[str, str] | None,
) -> tuple[_ModelRef, str]:
    from modelshelf._shelf import get_shelf
    from modelshelf.uri import local_model_dir, parse_uri, resolve_uri

    scheme = parse_uri(model_uri).scheme
    on_shelf = scheme not in ("local", "fsspec")
    digest = None
    shelf = None
    if on_shelf:
        shelf = get_shelf()
        resolved = resolve_uri(model_uri, shelf)
        assert resolved.digest is not None
        digest = str(resolved.digest)
        local = str(local_model_dir(digest, shelf))
    else:
        local = str(local_model_dir(model_uri))
    how = distribute
    if how == "auto":
        # An object store every executor can reach (a local folder or memory:// may not be).
        remote = (
            shelf is not None
            and "://" in shelf.url
            and not shelf.storage.capabilities.local_paths
            and not shelf.url.startswith("memory://")
        )
        local_mode = str(spark.conf.get("spark.master", "")).startswith("local")
        how = "shelf" if on_shelf and (remote or local_mode) else "broadcast"
    if how == "shelf":
        if shelf is None:
            from modelshelf.errors import ConfigurationError

            raise ConfigurationError(
                f"distribute='shelf' needs a shelf URI (models:/, runs:/, sha256:), got "
                f"{model_uri!r}; use distribute='broadcast'"
            )
        return (
            _ModelRef(
                "shelf",
                digest,
                shelf.url,
                dict(shelf.storage_options),
                model_config=model_config,
                extra_env=extra_env,
            ),  # fmt: skip
            local,
        )
    files = _hash_folder(local)
    payload = _pack(local)
    handle = spark.sparkContext.broadcast(payload)
    folder_id = (
        digest or "folder-" + hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
    )
    return (
        _ModelRef(
            "broadcast",
            folder_id,
            None,
            {},
            files,
            handle,
            model_config=model_config,
            extra_env=extra_env,
        ),  # fmt: skip
        local,
    )


def _hash_folder(root: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            digest = hashlib.sha256()
            with open(full, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            out[rel] = digest.hexdigest()
    return out


def _pack(root: str) -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(root, arcname=".")
    return buffer.getvalue()


def _result_type(result_type: Any, metadata: Any) -> Any:
    from pyspark.sql.types import DataType as SparkType
    from pyspark.sql.types import DoubleType, _parse_datatype_string

    from modelshelf.errors import ConfigurationError

    if result_type is None:
        output = metadata.get_output_schema()
        if output is None:
            return DoubleType()
        return _infer_result_type(output)
    if isinstance(result_type, str):
        try:
            return _parse_datatype_string("boolean" if result_type == "bool" else result_type)
        except Exception as exc:  # noqa: BLE001 - Spark's parser raises its own exception types
            raise ConfigurationError(
                f"Invalid 'spark_udf' result type: {result_type!r} ({exc})"
            ) from exc
    if not isinstance(result_type, SparkType):
        raise ConfigurationError(
            f"Invalid 'spark_udf' result type: {result_type!r}; pass a pyspark DataType or a "
            "DDL string such as 'double' or 'array<double>'"
        )
    return result_type


def _infer_result_type(output: Any) -> Any:
    from pyspark.sql.types import StructField, StructType

    if len(output.inputs) == 1:
        return _spark_type_of_spec(output.inputs[0])
    return StructType(
        [
            StructField(spec.name or str(i), _spark_type_of_spec(spec))
            for i, spec in enumerate(output.inputs)
        ]
    )


def _spark_type_of_spec(spec: Any) -> Any:
    from pyspark.sql.types import ArrayType

    from modelshelf.errors import ConfigurationError
    from modelshelf.models import ColSpec, DataType, TensorSpec

    if isinstance(spec, ColSpec):
        return _spark_type(spec.type)
    if isinstance(spec, TensorSpec):
        data_type = DataType.from_numpy_type(spec.type)
        if data_type is None or len(spec.shape) not in (1, 2):
            raise ConfigurationError(
                f"Model output tensor {spec} is not supported in spark_udf (only 1D or 2D "
                "tensors of primitive types); pass result_type"
            )
        inner = _spark_type(data_type)
        return ArrayType(inner) if len(spec.shape) == 1 else ArrayType(ArrayType(inner))
    raise ConfigurationError(f"Unknown schema output spec {spec}; pass result_type")


def _spark_type(t: Any) -> Any:
    from pyspark.sql import types as st

    from modelshelf.errors import ConfigurationError
    from modelshelf.models import Array, DataType, Object

    simple = {
        DataType.boolean: st.BooleanType, DataType.integer: st.IntegerType,
        DataType.long: st.LongType, DataType.float: st.FloatType,
        DataType.double: st.DoubleType, DataType.string: st.StringType,
        DataType.binary: st.BinaryType, DataType.datetime: st.TimestampType,
    }  # fmt: skip
    if isinstance(t, DataType):
        return simple[t]()
    if isinstance(t, Array):
        return st.ArrayType(_spark_type(t.dtype))
    if isinstance(t, Object):
        return st.StructType(
            [st.StructField(p.name, _spark_type(p.dtype), not p.required) for p in t.properties]
        )
    raise ConfigurationError(f"output type {t} has no Spark equivalent; pass result_type")


# ---------------------------------------------------------------------------- the executor side
_LOADED: dict[tuple[Any, ...], Any] = {}
_LOAD_LOCK = threading.Lock()


def _load(ref: _ModelRef) -> Any:
    """The model, loaded once per Python worker process."""
    key = ref.key()
    with _LOAD_LOCK:
        model = _LOADED.get(key)
        if model is None:
            from modelshelf.pyfunc._pyfunc import load_model_from_dir

            model = load_model_from_dir(_folder(ref), ref.model_config, suppress_warnings=True)
            _LOADED[key] = model
        return model


def _settings_cache() -> Path:
    from modelshelf import _settings

    return _settings.cache_dir()


def _folder(ref: _ModelRef) -> str:
    if ref.how == "shelf":
        from modelshelf._shelf import Shelf
        from modelshelf.uri import local_model_dir

        assert ref.digest is not None and ref.shelf_url is not None
        return str(local_model_dir(ref.digest, Shelf(ref.shelf_url, **ref.storage_options)))
    assert ref.digest is not None
    target = _settings_cache() / "spark" / ref.digest.replace(":", "-")
    if (target / "MLmodel").is_file():
        return str(target)  # unpacked and checked by an earlier task (read-only since)
    import tarfile

    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(ref.broadcast.value), mode="r") as archive:
            archive.extractall(staging, filter="data")
        _check_files(staging, ref.files)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "MLmodel").is_file():  # another worker won the rename race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def _check_files(root: Path, expected: dict[str, str]) -> None:
    from modelshelf.errors import IntegrityError

    found = _hash_folder(str(root))
    if found != expected:
        bad = sorted(p for p in set(found) | set(expected) if found.get(p) != expected.get(p))
        raise IntegrityError(
            f"the broadcast model folder differs from what the driver sent at {bad[:5]}; "
            "the copy was not used"
        )


class _environ:
    def __init__(self, extra: dict[str, str] | None) -> None:
        self.extra = extra or {}
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.extra.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _frame(args: tuple[Any, ...], input_schema: Any) -> Any:
    """The pandas frame the model sees: a struct's fields, or the columns under the signature's
    input names (positional), as MLflow builds it."""
    import pandas as pd

    from modelshelf.errors import InvalidInputError

    if len(args) == 1 and isinstance(args[0], pd.DataFrame):
        return args[0]
    if input_schema is None:
        names: list[Any] = [str(i) for i in range(len(args))]
    else:
        names = list(input_schema.input_names())
        required = input_schema.required_input_names()
        args = args[: len(names)]
        if len(args) < len(required):
            raise InvalidInputError(
                f"Model input is missing required columns. Expected {len(names)} required input "
                f"columns {names}, but the model received only {len(args)} unnamed input "
                "columns (Since the columns were passed unnamed they are expected to be in the "
                "order specified by the schema)."
            )
    return pd.DataFrame(
        data={
            names[i]: arg
            if isinstance(arg, pd.Series)
            else arg.apply(lambda r: r.to_dict(), axis=1)
            for i, arg in enumerate(args)
        },
        columns=names,
    )


def _convert_result(result: Any, result_type: Any) -> Any:
    import numpy as np
    import pandas as pd
    from pyspark.sql import types as st

    from modelshelf.errors import InvalidInputError

    if isinstance(result, dict):
        result = {k: list(v) for k, v in result.items()}
    if isinstance(result_type, st.ArrayType) and isinstance(result_type.elementType, st.ArrayType):
        return pd.Series([_array_value(v, result_type) for v in _rows(result)])
    if isinstance(result_type, st.StructType):
        frame = pd.DataFrame(result)
        return pd.DataFrame(
            {f.name: _struct_field(frame[f.name], f.dataType) for f in result_type.fields}
        )
    if not isinstance(result, pd.DataFrame):
        result = pd.DataFrame([result]) if np.isscalar(result) else pd.DataFrame(result)
    elem = result_type.elementType if isinstance(result_type, st.ArrayType) else result_type
    kinds: dict[type, tuple[Any, Any]] = {
        st.IntegerType: ([np.byte, np.ubyte, np.short, np.ushort, np.int32], np.int32),
        st.LongType: ([np.byte, np.ubyte, np.short, np.ushort, int], np.int64),
        st.FloatType: ([np.number], np.float32),
        st.DoubleType: ([np.number], np.float64),
        st.BooleanType: ([bool, np.bool_], bool),
    }
    if type(elem) in kinds:
        include, target = kinds[type(elem)]
        result = result.select_dtypes(include=include).astype(target)
    if len(result.columns) == 0:
        raise InvalidInputError(
            "The model did not produce any values compatible with the requested type "
            f"'{elem}'. Consider requesting udf with StringType or Arraytype(StringType)."
        )
    if isinstance(elem, st.StringType):
        result = result.map(str)
    if isinstance(result_type, st.ArrayType):
        return pd.Series(result.to_numpy().tolist())
    return result[result.columns[0]]


def _rows(result: Any) -> list[Any]:
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return list(result.to_numpy())
    if isinstance(result, pd.Series):
        return list(result)
    return list(np.asarray(result, dtype=object) if isinstance(result, list) else result)


_NUMPY_OF = {
    "BooleanType": "bool", "ByteType": "int8", "ShortType": "int16", "IntegerType": "int32",
    "LongType": "int64", "FloatType": "float32", "DoubleType": "float64", "StringType": "str",
    "BinaryType": "bytes",
}  # fmt: skip


def _array_value(values: Any, array_type: Any) -> Any:
    import numpy as np
    from pyspark.sql import types as st

    element = array_type.elementType
    if type(element).__name__ in _NUMPY_OF:
        if values is None or (isinstance(values, float) and np.isnan(values)):
            return None  # a null or NaN array cell is a null array, as MLflow has it
        return np.array(values, dtype=_NUMPY_OF[type(element).__name__])
    if isinstance(element, st.ArrayType):
        return [_array_value(v, element) for v in values]
    raise _unsupported(element)


def _struct_field(values: Any, data_type: Any) -> Any:
    import pandas as pd
    from pyspark.sql import types as st

    name = type(data_type).__name__
    if name in _NUMPY_OF:
        if values.isna().all():
            return values
        return values.astype(
            _NUMPY_OF[name] if name not in ("StringType", "BinaryType") else object
        )
    if isinstance(data_type, st.ArrayType):
        return pd.Series([_array_value(v, data_type) for v in values], index=values.index)
    raise _unsupported(data_type)


def _unsupported(data_type: Any) -> Exception:
    from modelshelf.errors import ConfigurationError

    return ConfigurationError(
        f"spark_udf cannot produce {data_type.simpleString()} values; use primitive types, "
        "arrays of them, or structs of those"
    )
