"""The ``transformers`` flavor: Hugging Face pipelines in MLflow 3.17's layout.

A model is a ``transformers.Pipeline`` or a dict of its parts (``model``, ``tokenizer``,
``feature_extractor``, ``image_processor``, ``torch_dtype``). It is written as MLflow writes it:

- ``model/``: ``model.save_pretrained`` (safetensors weights, ``config.json``, and for
  generative models ``generation_config.json``);
- ``components/<name>/``: ``save_pretrained`` of each component (``components/tokenizer/``, ...;
  a ``processor`` goes to ``components/processor/``);
- ``LICENSE.txt`` (MLflow's fallback text; nothing is fetched from the Hugging Face Hub) and,
  when ``model_card`` is given, ``model_card.md`` / ``model_card_data.yaml``;
- a ``transformers`` block in ``MLmodel`` (``task``, ``instance_type``, ``pipeline_model_type``,
  ``source_model_name``, ``model_binary``, ``components``, ``<component>_type``,
  ``torch_dtype``, ``transformers_version``, ``framework`` with transformers < 5) and a
  ``python_function`` block naming ``mlflow.transformers`` (so MLflow loads it, and modelshelf
  loads models MLflow wrote).

Because every file is stored by content, logging a fine-tuned copy that keeps its tokenizer and
config uploads only the new weights and the new ``MLmodel``.

The pyfunc model predicts as MLflow's does for text tasks: text classification returns a
DataFrame with ``label`` and ``score`` columns; text generation returns a list with one string
per prompt. transformers (and torch) are imported only when a model is saved or loaded
(``pip install 'modelshelf[transformers]'``).
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelshelf.errors import (
    InvalidInputError,
    MalformedMetadataError,
    MissingDependencyError,
    SignatureInferenceWarning,
)
from modelshelf.flavors._base import (
    PathLike,
    Requirements,
    add_pyfunc_flavor,
    copy_code_paths,
    open_flavor,
    pinned,
    staged_model_dir,
    write_model,
)
from modelshelf.flavors._registry import require
from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import Model

__all__ = [
    "COMPONENTS_DIR",
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "MODEL_BINARY_DIR",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "transformers"
LOADER_MODULE = "mlflow.transformers"
LOADER_MODULES = (LOADER_MODULE,)
MODEL_BINARY_DIR = "model"
COMPONENTS_DIR = "components"
PROCESSOR_DIR = "processor"
LICENSE_FILE = "LICENSE.txt"
CARD_TEXT_FILE = "model_card.md"
CARD_DATA_FILE = "model_card_data.yaml"
#: ``save_pretrained``'s shard size, MLflow's default (``MLFLOW_HUGGINGFACE_MODEL_MAX_SHARD_SIZE``).
MAX_SHARD_SIZE = "500MB"

_COMPONENT_NAMES = ("feature_extractor", "tokenizer", "image_processor")
_SAVE_KEYS = frozenset({"model", *_COMPONENT_NAMES, "torch_dtype"})
_RETURN_TYPES = ("pipeline", "components")
_AUTO_CLASSES = {
    "tokenizer": "AutoTokenizer",
    "feature_extractor": "AutoFeatureExtractor",
    "image_processor": "AutoImageProcessor",
    "processor": "AutoProcessor",
}
# Pipelines MLflow gives no python_function block (their inputs do not fit pyfunc).
_NO_PYFUNC_PIPELINES = frozenset(
    {
        "DocumentQuestionAnsweringPipeline",
        "ImageToTextPipeline",
        "VisualQuestionAnsweringPipeline",
        "ImageSegmentationPipeline",
        "DepthEstimationPipeline",
        "ObjectDetectionPipeline",
        "VideoClassificationPipeline",
        "ZeroShotImageClassificationPipeline",
        "ZeroShotObjectDetectionPipeline",
        "ZeroShotAudioClassificationPipeline",
    }
)
# Model class name suffix → task, for a dict of components saved without ``task``.
_TASK_BY_MODEL_SUFFIX = (
    ("ForSequenceClassification", "text-classification"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForTokenClassification", "token-classification"),
    ("ForMaskedLM", "fill-mask"),
    ("ForQuestionAnswering", "question-answering"),
)


def _transformers() -> Any:
    return require("transformers", FLAVOR_NAME)


def get_default_pip_requirements() -> list[str]:
    """Pinned requirements every transformers model gets, as MLflow lists them.

    ``transformers`` and ``torch``; ``torchvision`` and ``accelerate`` only when installed
    (MLflow always names ``torchvision``).
    """
    names = ["transformers", "torch"]
    names += [n for n in ("torchvision", "accelerate") if importlib.util.find_spec(n) is not None]
    return [pinned(n) for n in names]


# -- save ---------------------------------------------------------------------------------------


def _task_for_model(model: Any) -> str:
    name = type(model).__name__
    for suffix, task in _TASK_BY_MODEL_SUFFIX:
        if name.endswith(suffix):
            return task
    raise InvalidInputError(
        f"Cannot tell the task of a {name} (nothing is looked up on the Hugging Face Hub); "
        "pass task=..., e.g. task='text-classification'."
    )


def _build_pipeline(transformers_model: Any, task: str | None) -> Any:
    transformers = _transformers()
    if isinstance(transformers_model, transformers.Pipeline):
        return transformers_model
    if not isinstance(transformers_model, Mapping):
        raise InvalidInputError(
            "transformers_model must be a transformers Pipeline or a dict of its components "
            f"({', '.join(sorted(_SAVE_KEYS))}); got {type(transformers_model).__name__}."
        )
    unknown = sorted(set(transformers_model) - _SAVE_KEYS)
    if unknown:
        raise InvalidInputError(
            f"Invalid keys {unknown} in the transformers_model dict; allowed: {sorted(_SAVE_KEYS)}."
        )
    if "model" not in transformers_model:
        raise InvalidInputError("The transformers_model dict needs a 'model' entry.")
    model = transformers_model["model"]
    if not isinstance(model, transformers.PreTrainedModel):
        raise InvalidInputError(
            f"transformers_model['model'] must be a transformers PreTrainedModel, got "
            f"{type(model).__name__}."
        )
    parts = dict(transformers_model)
    dtype = parts.pop("torch_dtype", None)
    if dtype is not None:
        parts.setdefault("dtype", dtype)
    task = task or _task_for_model(model)
    try:
        return transformers.pipeline(task=task, **parts)
    except Exception as exc:
        raise InvalidInputError(
            f"The components cannot make a {task!r} pipeline ({type(exc).__name__}: {exc}); "
            "check the keys and the task."
        ) from exc


def _components(pipeline: Any) -> dict[str, Any]:
    return {n: c for n in _COMPONENT_NAMES if (c := getattr(pipeline, n, None)) is not None}


def _flavor_conf(pipeline: Any, processor: Any, torch_dtype: Any) -> dict[str, Any]:
    model = pipeline.model
    conf: dict[str, Any] = {
        "task": pipeline.task,
        "instance_type": type(pipeline).__name__,
        "pipeline_model_type": type(model).__name__,
        "source_model_name": model.name_or_path,
        "model_binary": MODEL_BINARY_DIR,
    }
    if framework := getattr(pipeline, "framework", None):
        conf["framework"] = framework
    if torch_dtype is None:
        torch = require("torch", FLAVOR_NAME)
        model_dtype = getattr(model, "dtype", None)
        torch_dtype = model_dtype if isinstance(model_dtype, torch.dtype) else None
    if torch_dtype is not None:
        conf["torch_dtype"] = str(torch_dtype)
    components = _components(pipeline)
    for name, component in components.items():
        conf[f"{name}_type"] = type(component).__name__
    if processor is not None:
        conf["processor_type"] = type(processor).__name__
    conf["components"] = list(components)
    return conf


def _save_component(component: Any, folder: Path) -> None:
    """``save_pretrained``, without the padding/truncation a fast tokenizer kept from its last call.

    A fast tokenizer sets its backend's padding and truncation on every call (so what is stored
    never changes how it tokenizes through transformers) and ``save_pretrained`` writes whatever
    the last call left into ``tokenizer.json``. Saving without it makes an unchanged tokenizer
    the same bytes whatever it was last used for, so a fine-tune stores no new tokenizer blob.
    """
    backend: Any = getattr(component, "_tokenizer", None)
    if backend is None or not all(
        hasattr(backend, a) for a in ("padding", "truncation", "no_padding")
    ):
        component.save_pretrained(folder)
        return
    padding, truncation = backend.padding, backend.truncation
    backend.no_padding()
    backend.no_truncation()
    try:
        component.save_pretrained(folder)
    finally:
        if padding is not None:
            backend.enable_padding(**padding)
        if truncation is not None:
            backend.enable_truncation(**truncation)


def _write_card_and_license(root: Path, model_name: str, model_card: Any) -> None:
    # As MLflow, minus the Hub: the card only when given, MLflow's fallback license text.
    text = (
        f"A license file could not be found for the '{model_name}' repository. \n"
        "To ensure that you are in compliance with the license requirements for this "
        f"model, please visit the model repository here: https://huggingface.co/{model_name}"
    )
    card_license = getattr(getattr(model_card, "data", None), "license", None)
    if model_card is not None and card_license != "other":
        text += f"\nThe declared license type is: '{card_license}'"
    (root / LICENSE_FILE).write_text(text, encoding="utf-8")
    if model_card is not None:
        import yaml

        (root / CARD_TEXT_FILE).write_text(model_card.text, encoding="utf-8")
        with (root / CARD_DATA_FILE).open("w", encoding="utf-8") as f:
            yaml.safe_dump(model_card.data.to_dict(), f, default_flow_style=False)


def _should_add_pyfunc(pipeline: Any) -> bool:
    return type(pipeline).__name__ not in _NO_PYFUNC_PIPELINES


def save_model(
    transformers_model: Any,
    path: PathLike,
    *,
    processor: Any = None,
    task: str | None = None,
    torch_dtype: Any = None,
    model_card: Any = None,
    code_paths: list[PathLike] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Requirements = None,
    extra_pip_requirements: Requirements = None,
    conda_env: PathLike | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    save_pretrained: bool = True,
    **kwargs: Any,
) -> Model:
    """Save a transformers pipeline (or a dict of its components) as an MLflow model at ``path``.

    Args:
        transformers_model: a ``transformers.Pipeline``, or a dict with a ``model``
            (``PreTrainedModel``) and any of ``tokenizer``, ``feature_extractor``,
            ``image_processor``, ``torch_dtype``.
        path: the new model directory (must not exist, or be empty).
        processor: a ``Processor`` saved under ``components/processor``; such a model loads
            only with ``return_type="components"`` and gets no pyfunc flavor (as MLflow).
        task: the pipeline task for a dict of components (default: guessed from the model
            class, e.g. ``...ForSequenceClassification`` → ``text-classification``).
        torch_dtype: the dtype recorded for loading (default: the model's).
        model_card: a ``huggingface_hub.ModelCard`` to save with the model (none is fetched).
        code_paths: files/folders copied to ``code/``.
        mlflow_model: a pre-filled :class:`~modelshelf.models.Model` to add to (``log_model``).
        signature: a ModelSignature; None infers one by predicting on ``input_example``,
            falling back to the task's default signature, as MLflow; False: none.
        input_example: e.g. a string or list of strings, or ``(data, params)``.
        pip_requirements: replaces the inferred requirements.
        extra_pip_requirements: added to the inferred requirements.
        conda_env: a conda env dict / YAML path, instead of the two above.
        metadata: free-form ``metadata`` in MLmodel.
        model_config: pipeline call arguments the pyfunc model uses (``python_function.config``),
            e.g. ``{"max_new_tokens": 20}``.
        save_pretrained: must be True: the weights are always saved (a Hub reference would
            need the network to load).
        **kwargs: other MLflow arguments are accepted and ignored, except ``prompt_template``
            and ``base_model_path``, which are refused (not supported yet).

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: not a pipeline or a valid dict of components, an unknown task, an
            ``llm/v1/...`` task, ``save_pretrained=False``, ``prompt_template`` or
            ``base_model_path``, bad requirement arguments.
        MissingDependencyError: transformers (or torch) is not installed.
    """
    for unsupported in ("prompt_template", "base_model_path"):
        if kwargs.get(unsupported) is not None:
            raise InvalidInputError(
                f"{unsupported}= is not supported by modelshelf's transformers flavor yet; save "
                "without it (or with mlflow.transformers)."
            )
    if task is not None and task.startswith("llm/v1/"):
        raise InvalidInputError(
            f"MLflow's LLM inference task {task!r} is not supported yet; pass the transformers "
            "task (e.g. 'text-generation')."
        )
    transformers = _transformers()
    if not save_pretrained:
        raise InvalidInputError(
            "save_pretrained=False (saving a Hugging Face Hub reference instead of the weights) "
            "is not supported: the weights are always saved."
        )
    pipeline = _build_pipeline(transformers_model, task)
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    conf = _flavor_conf(pipeline, processor, torch_dtype)
    with staged_model_dir(path) as root:
        from modelshelf.models._input_example import save_input_example

        code = copy_code_paths(code_paths, root)
        if signature is not None and signature is not False:
            model.signature = signature
        save_input_example(model, input_example, root)
        model.add_flavor(
            FLAVOR_NAME, transformers_version=str(transformers.__version__), code=code, **conf
        )
        pipeline.model.save_pretrained(root / MODEL_BINARY_DIR, max_shard_size=MAX_SHARD_SIZE)
        for name in conf["components"]:
            _save_component(getattr(pipeline, name), root / COMPONENTS_DIR / name)
        if processor is not None:
            processor.save_pretrained(root / COMPONENTS_DIR / PROCESSOR_DIR)
        _write_card_and_license(root, str(pipeline.model.name_or_path), model_card)
        if processor is None and _should_add_pyfunc(pipeline):
            if signature is None:
                model.signature = _infer_signature(pipeline, input_example, model_config, conf)
            add_pyfunc_flavor(model, LOADER_MODULE, code=code, model_config=model_config)
        elif processor is not None:
            warnings.warn(
                "The model was saved with a processor: it has no pyfunc flavor and loads only "
                "with load_model(..., return_type='components').",
                UserWarning,
                stacklevel=2,
            )
        write_model(
            model,
            root,
            defaults=[r.split("==")[0] for r in get_default_pip_requirements()],
            modules=["transformers", "torch", type(pipeline.model).__module__],
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


# -- signatures ---------------------------------------------------------------------------------


def _default_signature(task: str) -> Any:
    from modelshelf.models.signature import ColSpec, ModelSignature, Schema

    def text_to_text() -> Any:
        return ModelSignature(Schema([ColSpec("string")]), Schema([ColSpec("string")]))

    def named(names: list[tuple[str, str]]) -> Any:
        return Schema([ColSpec(t, name=n) for n, t in names])

    if task.startswith("translation"):
        task = "translation"
    if task in {
        "token-classification",
        "translation",
        "text-generation",
        "text2text-generation",
        "conversational",
        "fill-mask",
        "summarization",
    }:
        return text_to_text()
    if task in {"text-classification", "image-classification"}:
        return ModelSignature(
            Schema([ColSpec("string")]), named([("label", "string"), ("score", "double")])
        )
    if task == "zero-shot-classification":
        return ModelSignature(
            named(
                [
                    ("sequences", "string"),
                    ("candidate_labels", "string"),
                    ("hypothesis_template", "string"),
                ]
            ),
            named([("sequence", "string"), ("labels", "string"), ("scores", "double")]),
        )
    if task == "question-answering":
        return ModelSignature(
            named([("question", "string"), ("context", "string")]),
            Schema([ColSpec("string")]),
        )
    if task == "table-question-answering":
        return ModelSignature(
            named([("query", "string"), ("table", "string")]), Schema([ColSpec("string")])
        )
    return None


def _infer_signature(
    pipeline: Any, example: Any, model_config: dict[str, Any] | None, conf: dict[str, Any]
) -> Any:
    """MLflow's rule: predict on the example when there is one, else the task's default."""
    if example is not None:
        from modelshelf.models._infer import infer_signature
        from modelshelf.models._input_example import split_input_and_params

        data, params = split_input_and_params(example)
        try:
            wrapper = _TransformersWrapper(pipeline, conf, model_config)
            prediction = wrapper.predict(copy.deepcopy(data), params=params)
            return infer_signature(data, prediction, params)
        except Exception as exc:  # as MLflow: fall back to the task's default signature
            warnings.warn(
                f"Could not infer a signature from the input example ({type(exc).__name__}: "
                f"{exc}); using the default signature of the {pipeline.task!r} task.",
                SignatureInferenceWarning,
                stacklevel=4,
            )
    signature = _default_signature(str(pipeline.task))
    if signature is None:
        warnings.warn(
            f"No default signature for the {pipeline.task!r} task: pass input_example=... or "
            "signature=... to record one.",
            SignatureInferenceWarning,
            stacklevel=4,
        )
    return signature


# -- load ---------------------------------------------------------------------------------------


def _torch_dtype(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    torch = require("torch", FLAVOR_NAME)
    dtype = getattr(torch, value.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise MalformedMetadataError(f"torch_dtype {value!r} is not a torch dtype.")
    return dtype


def _model_class(conf: dict[str, Any], model_dir: Path) -> Any:
    transformers = _transformers()
    name = conf.get("pipeline_model_type")
    if name and hasattr(transformers, name):
        return getattr(transformers, name)
    config = transformers.AutoConfig.from_pretrained(str(model_dir))
    for arch in getattr(config, "architectures", None) or ():
        if hasattr(transformers, arch):
            return getattr(transformers, arch)
    raise MissingDependencyError(
        f"The model class {name!r} is not in the installed transformers "
        f"{transformers.__version__}; install the transformers version the model was saved with "
        f"({conf.get('transformers_version')}). Models that need trust_remote_code are not "
        "loaded."
    )


def _load_component(conf: dict[str, Any], name: str, folder: Path) -> Any:
    transformers = _transformers()
    if not folder.is_dir():
        raise MalformedMetadataError(f"The model names a {name} but '{folder}' is missing.")
    cls_name = conf.get(f"{name}_type") or _AUTO_CLASSES[name]
    cls = getattr(transformers, cls_name, None) or getattr(transformers, _AUTO_CLASSES[name])
    return cls.from_pretrained(str(folder))


def _load_parts(root: Path, conf: dict[str, Any], dtype: Any = None) -> dict[str, Any]:
    transformers = _transformers()
    if "model_binary" not in conf and "source_model_revision" in conf:
        raise InvalidInputError(
            f"The model at '{root}' was saved without its weights (a Hugging Face Hub "
            f"reference to {conf.get('source_model_name')!r}); modelshelf loads only saved "
            "weights."
        )
    if "peft_adaptor" in conf or "local_base_model_path" in conf:
        raise InvalidInputError("PEFT adapter models are not supported by modelshelf yet.")
    model_dir = root / str(conf.get("model_binary") or "pipeline")
    dtype = dtype or conf.get("torch_dtype")
    load_kwargs: dict[str, Any] = {}
    if dtype:
        load_kwargs["dtype"] = _torch_dtype(dtype)
    parts: dict[str, Any] = {"task": conf["task"]}
    if "dtype" in load_kwargs:
        parts["dtype"] = load_kwargs["dtype"]
    if int(str(transformers.__version__).split(".")[0]) < 5 and conf.get("framework"):
        parts["framework"] = conf["framework"]
    parts["model"] = _model_class(conf, model_dir).from_pretrained(str(model_dir), **load_kwargs)
    components = list(conf.get("components") or [])
    if "processor_type" in conf:
        components.append(PROCESSOR_DIR)
    for name in components:
        parts[name] = _load_component(conf, name, root / COMPONENTS_DIR / name)
    return parts


def load_model(
    model_uri: PathLike, *, return_type: str = "pipeline", device: Any = None, **kwargs: Any
) -> Any:
    """Load a transformers model: the pipeline, or a dict of its components.

    Args:
        model_uri: the model directory, ``file://``, ``runs:/``, ``models:/`` URI.
        return_type: ``"pipeline"`` (default) or ``"components"`` (a dict with ``task``,
            ``model``, each component and, if saved, ``dtype``).
        device: the device for the pipeline (e.g. ``-1``/``"cpu"``, ``0``/``"cuda"``).
        **kwargs: passed to ``transformers.pipeline`` (``dtype`` / ``torch_dtype`` also to
            ``from_pretrained``).

    Raises:
        InvalidInputError: an unknown ``return_type``; a pipeline asked for a model saved with a
            processor; a model saved without its weights.
        NotFoundError: no model there.
        MalformedMetadataError: the model has no ``transformers`` flavor or misses a component.
        MissingDependencyError: transformers or the model class is not installed.
    """
    if return_type not in _RETURN_TYPES:
        raise InvalidInputError(
            f"return_type must be 'pipeline' or 'components', got {return_type!r}."
        )
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    if return_type == "pipeline" and "processor_type" in conf:
        raise InvalidInputError(
            "This model was saved with a processor, which a Pipeline cannot hold; load it with "
            "return_type='components'."
        )
    dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
    parts = _load_parts(root, conf, dtype)
    if return_type == "components":
        return parts
    if device is not None:
        parts["device"] = device
    parts.update(kwargs)
    return _transformers().pipeline(**parts)


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.transformers`` (``path``: the model root).

    Raises:
        MissingDependencyError: transformers is not installed.
    """
    root, conf = open_flavor(path, FLAVOR_NAME)
    legacy = root / COMPONENTS_DIR / "inference_config.txt"  # MLflow < 2.11 wrote it there
    if legacy.exists():
        import json

        model_config = json.loads(legacy.read_text(encoding="utf-8"))
    pipeline = _transformers().pipeline(**_load_parts(root, conf))
    return _TransformersWrapper(pipeline, conf, model_config)


# -- pyfunc -------------------------------------------------------------------------------------


class _TransformersWrapper:
    """pyfunc implementation for text pipelines, returning what MLflow's returns."""

    def __init__(
        self,
        pipeline: Any,
        flavor_config: dict[str, Any] | None = None,
        model_config: dict[str, Any] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.flavor_config = dict(flavor_config or {})
        self.model_config = dict(model_config or {})

    def get_raw_model(self) -> Any:
        """The pipeline."""
        return self.pipeline

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Run the pipeline; ``params`` override the saved ``model_config`` for this call.

        Text classification takes a string, a list of strings, ``{"text", "text_pair"}`` dicts
        or a DataFrame, and returns a DataFrame with ``label`` and ``score``. Text generation
        takes a string, a list of strings or a one-column DataFrame, and returns a list with
        one generated string per prompt (``model_config``: ``collapse_whitespace``).

        Raises:
            InvalidInputError: input of an unsupported type, params the pipeline rejects, or a
                pipeline type this flavor cannot predict with through pyfunc.
        """
        import numpy as np
        import pandas as pd

        config = copy.deepcopy(self.model_config)
        if params:
            config = config | dict(params)
        if isinstance(data, pd.DataFrame):
            data = data.to_dict(orient="records")
        elif isinstance(data, list):
            if not all(isinstance(entry, (str, dict)) for entry in data):
                raise InvalidInputError(
                    "Invalid input: every element of the list must be a string or a dict of "
                    "strings."
                )
        elif not isinstance(data, (dict, str, bytes, np.ndarray)):
            raise InvalidInputError(
                "Input must be a pandas DataFrame, a string, a list of strings or a list of "
                f"dicts of strings; got {type(data).__name__}."
            )
        transformers = _transformers()
        if isinstance(self.pipeline, transformers.TextGenerationPipeline):
            return self._generate(data, config)
        if isinstance(self.pipeline, transformers.TextClassificationPipeline):
            raw = self._call(_classification_input(data), config)
            return pd.DataFrame(raw)
        raise InvalidInputError(
            f"pyfunc predict of a {type(self.pipeline).__name__} is not supported by modelshelf "
            "yet (text-classification and text-generation are); load it with "
            "modelshelf.transformers.load_model and call the pipeline."
        )

    def _call(self, data: Any, config: dict[str, Any]) -> Any:
        try:
            if isinstance(data, dict):
                return self.pipeline(**data, **config)
            return self.pipeline(data, **config)
        except ValueError as exc:
            if "model_kwargs` are not used by the model" in str(exc):
                raise InvalidInputError(
                    f"The params given to predict are not valid for the "
                    f"{type(self.pipeline).__name__}: {exc}"
                ) from exc
            raise

    def _generate(self, data: Any, config: dict[str, Any]) -> list[str]:
        if isinstance(data, list) and data and all(isinstance(e, dict) for e in data):
            data = [next(iter(e.values())) for e in data]  # one-column frame rows
        if not isinstance(data, (str, list)) or (
            isinstance(data, list) and not all(isinstance(e, str) for e in data)
        ):
            raise InvalidInputError(
                f"Text generation takes a string or a list of strings, got {type(data).__name__}."
            )
        config.pop("include_prompt", None)  # only for instruction pipelines MLflow special-cases
        collapse = bool(config.pop("collapse_whitespace", False))
        raw = self._call(data, config)
        if all(isinstance(x, dict) for x in raw):
            texts: list[str] = [raw[0]["generated_text"]]
        elif all(isinstance(x, list) for x in raw):
            texts = [e["generated_text"] for group in raw for e in group]
        else:
            raise InvalidInputError(f"Unexpected text-generation output: {type(raw).__name__}.")
        if collapse:
            texts = [re.sub(r"\s+", " ", t).strip() for t in texts]
        if isinstance(data, str):
            texts = texts[:1]
        return [t.strip() for t in texts]


def _classification_input(data: Any) -> Any:
    """MLflow's text-classification input rules (rows of a frame back to strings / dicts)."""

    def check(payload: dict[Any, Any]) -> None:
        if set(payload) - {"text", "text_pair"} and not all(isinstance(k, int) for k in payload):
            raise InvalidInputError(
                "Text classification dict inputs may only have the keys 'text' and 'text_pair'."
            )

    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        check(data)
        return data
    if isinstance(data, list) and all(isinstance(item, str) for item in data):
        return data
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        for payload in data:
            check(payload)
        if data and next(iter(data[0])) == 0:
            data = [item[0] for item in data]
        try:
            # dict inputs arrive as their str() through serving (as MLflow reads them)
            return [ast.literal_eval(s) for s in data]
        except (ValueError, SyntaxError):
            return data
    raise InvalidInputError(
        "Text classification takes a string, a list of strings, a dict or a list of dicts."
    )


def log_model(
    transformers_model: Any, artifact_path: str | None = None, **kwargs: Any
) -> ModelInfo:
    """Log a transformers pipeline to the active run as one tree, as ``mlflow.transformers.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    loads with :func:`load_model`. Files equal to ones already on the shelf (a tokenizer kept
    through a fine-tune) are not uploaded again.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(
        save_model, artifact_path=artifact_path, transformers_model=transformers_model, **kwargs
    )
