"""transformers flavor: tiny pipelines built offline, MLflow 3.17's layout both ways, and a
fine-tune that keeps its tokenizer re-uploading only the new weights."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from modelshelf.errors import InvalidInputError, MissingDependencyError  # noqa: E402
from modelshelf.flavors import _registry  # noqa: E402
from modelshelf.flavors import transformers as flavor  # noqa: E402
from modelshelf.models import Model  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "great", "awful", "the"]
WORDS += ["is", "a", "fun"]
TEXTS = ["good movie", "great fun", "bad movie", "awful the movie", "a good movie is fun"]
LABELS = [1, 1, 0, 0, 1]
REQS = ["transformers", "torch"]


@pytest.fixture(scope="module", autouse=True)
def _offline() -> Iterator[None]:
    """Nothing may come from the Hugging Face Hub (module-wide, before the model fixtures)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


def _tokenizer(**special: str) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", **special
    )


def _train(model: Any, tokenizer: Any, steps: int, seed: int) -> Any:
    torch.manual_seed(seed)
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    labels = torch.tensor(LABELS)
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model(**batch, labels=labels).loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def clf() -> Any:
    """A 2-layer, hidden-16 BERT text classifier, trained a few steps on five sentences."""
    torch.manual_seed(0)
    tokenizer = _tokenizer(cls_token="[CLS]", sep_token="[SEP]")
    config = transformers.BertConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
    )
    model = _train(transformers.BertForSequenceClassification(config), tokenizer, 10, 0)
    return transformers.pipeline("text-classification", model=model, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def gen() -> Any:
    """A 2-layer, 16-wide GPT-2 text generator (greedy decoding)."""
    torch.manual_seed(0)
    tokenizer = _tokenizer(bos_token="[CLS]", eos_token="[SEP]")
    config = transformers.GPT2Config(
        vocab_size=len(WORDS), n_embd=16, n_layer=2, n_head=2, n_positions=32,
        bos_token_id=2, eos_token_id=3, pad_token_id=0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(config).eval()
    return transformers.pipeline("text-generation", model=model, tokenizer=tokenizer)


GEN_CONFIG = {"max_new_tokens": 3, "do_sample": False}


def _frame(pipe: Any, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(pipe(texts))


def test_classification_round_trip(tmp_path: Path, clf: Any) -> None:
    path = tmp_path / "m"
    model = flavor.save_model(clf, path, input_example=TEXTS[:2], pip_requirements=REQS)
    assert {
        "MLmodel",
        "LICENSE.txt",
        "model/config.json",
        "model/model.safetensors",
        "components/tokenizer/tokenizer.json",
        "components/tokenizer/tokenizer_config.json",
        "input_example.json",
    } <= set(files(path))
    assert not [f for f in files(path) if f.endswith((".bin", ".pt", ".pth", ".pkl"))]
    conf = Model.load(path).flavors
    assert conf["python_function"]["loader_module"] == "mlflow.transformers"
    tf = conf["transformers"]
    assert tf["task"] == "text-classification"
    assert tf["instance_type"] == "TextClassificationPipeline"
    assert tf["pipeline_model_type"] == "BertForSequenceClassification"
    assert tf["components"] == ["tokenizer"]
    assert tf["tokenizer_type"] == type(clf.tokenizer).__name__
    assert tf["model_binary"] == "model" and tf["torch_dtype"] == "torch.float32"
    assert tf["transformers_version"] == transformers.__version__
    assert model.signature is not None
    assert model.signature.to_dict()["outputs"] == (
        '[{"type": "string", "name": "label", "required": true}, '
        '{"type": "double", "name": "score", "required": true}]'
    )
    expected = _frame(clf, TEXTS)
    out = load_pyfunc(path).predict(TEXTS)
    pd.testing.assert_frame_equal(out, expected)
    assert set(out["label"]) <= {"NEG", "POS"}
    # one string in, one row out; a one-column frame works as MLflow's serving sends it
    pd.testing.assert_frame_equal(load_pyfunc(path).predict("good movie"), expected.head(1))
    pd.testing.assert_frame_equal(load_pyfunc(path).predict(pd.DataFrame({0: TEXTS})), expected)
    pipe = flavor.load_model(path)
    assert isinstance(pipe, transformers.TextClassificationPipeline)
    pd.testing.assert_frame_equal(_frame(pipe, TEXTS), expected)
    parts = flavor.load_model(path, return_type="components")
    assert parts["task"] == "text-classification"
    assert set(parts) >= {"model", "tokenizer"}
    for name, tensor in clf.model.state_dict().items():
        assert torch.equal(parts["model"].state_dict()[name], tensor), name


def test_dict_of_components_and_default_signature(tmp_path: Path, clf: Any) -> None:
    path = tmp_path / "m"
    model = flavor.save_model(
        {"model": clf.model, "tokenizer": clf.tokenizer}, path, pip_requirements=REQS
    )
    assert Model.load(path).flavors["transformers"]["task"] == "text-classification"
    assert model.signature is not None  # no example: the task's default, as MLflow
    assert [c.name for c in model.signature.outputs] == ["label", "score"]
    assert "input_example.json" not in files(path)
    pd.testing.assert_frame_equal(load_pyfunc(path).predict(TEXTS), _frame(clf, TEXTS))


def test_generation_round_trip(tmp_path: Path, gen: Any) -> None:
    path = tmp_path / "m"
    # an example with params gives a params schema: predict(params=...) overrides per call
    example = ("good movie", {"max_new_tokens": 3})
    config = {"do_sample": False}
    model = flavor.save_model(
        gen, path, input_example=example, model_config=config, pip_requirements=REQS
    )
    assert "model/generation_config.json" in files(path)
    meta = Model.load(path)
    assert meta.flavors["transformers"]["instance_type"] == "TextGenerationPipeline"
    assert meta.flavors["python_function"]["config"] == config
    assert model.signature is not None
    assert model.signature.to_dict()["outputs"] == '[{"type": "string", "required": true}]'
    assert [p.name for p in model.signature.params] == ["max_new_tokens"]
    prompts = ["good movie", "bad"]
    expected = [gen(p, **GEN_CONFIG)[0]["generated_text"].strip() for p in prompts]
    pyfunc = load_pyfunc(path)
    assert pyfunc.predict(prompts) == expected
    assert pyfunc.predict("good movie") == expected[:1]
    # params override the saved config for one call
    longer = gen("good movie", max_new_tokens=5, do_sample=False)[0]["generated_text"].strip()
    assert pyfunc.predict("good movie", params={"max_new_tokens": 5}) == [longer]
    assert (
        flavor.load_model(path)("bad", **GEN_CONFIG)[0]["generated_text"].strip() == (expected[1])
    )


def test_bad_inputs_raise_typed_errors(tmp_path: Path, clf: Any) -> None:
    with pytest.raises(InvalidInputError, match="Pipeline or a dict"):
        flavor.save_model(object(), tmp_path / "a")
    with pytest.raises(InvalidInputError, match="Invalid keys"):
        flavor.save_model({"model": clf.model, "tokenizers": clf.tokenizer}, tmp_path / "b")
    with pytest.raises(InvalidInputError, match="save_pretrained=False"):
        flavor.save_model(clf, tmp_path / "c", save_pretrained=False)
    with pytest.raises(InvalidInputError, match="prompt_template"):
        flavor.save_model(clf, tmp_path / "d", prompt_template="Say {prompt}")
    with pytest.raises(InvalidInputError, match="llm/v1/completions"):
        flavor.save_model(clf, tmp_path / "e", task="llm/v1/completions")
    assert list(tmp_path.iterdir()) == []
    flavor.save_model(clf, tmp_path / "m", pip_requirements=REQS)
    with pytest.raises(InvalidInputError, match="return_type"):
        flavor.load_model(tmp_path / "m", return_type="model")
    impl = load_pyfunc(tmp_path / "m").get_raw_model()  # what pyfunc calls past enforcement
    with pytest.raises(InvalidInputError, match="list of strings"):
        impl.predict(3.5)
    with pytest.raises(InvalidInputError, match="'text' and 'text_pair'"):
        impl.predict([{"sentence": "good movie"}])


def test_processor_dtype_and_model_card(tmp_path: Path, clf: Any) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard("---\nlicense: mit\n---\n# Tiny classifier\n")
    path = tmp_path / "m"
    with pytest.warns(UserWarning, match="processor"):
        flavor.save_model(
            clf,
            path,
            processor=clf.tokenizer,
            torch_dtype=torch.bfloat16,
            model_card=card,
            pip_requirements=REQS,
        )
    meta = Model.load(path)
    assert "python_function" not in meta.flavors  # as MLflow: a processor means no pyfunc
    assert meta.flavors["transformers"]["torch_dtype"] == "torch.bfloat16"
    assert meta.flavors["transformers"]["processor_type"] == type(clf.tokenizer).__name__
    assert "components/processor/tokenizer.json" in files(path)
    assert (path / "model_card.md").read_text().endswith("# Tiny classifier\n")
    assert "license: mit" in (path / "model_card_data.yaml").read_text()
    assert "The declared license type is: 'mit'" in (path / "LICENSE.txt").read_text()
    with pytest.raises(InvalidInputError, match="return_type='components'"):
        flavor.load_model(path)
    parts = flavor.load_model(path, return_type="components")
    assert parts["model"].dtype == torch.bfloat16 and parts["dtype"] == torch.bfloat16
    # a dtype given at load wins over the recorded one (either spelling)
    for key in ("dtype", "torch_dtype"):
        parts = flavor.load_model(path, return_type="components", **{key: "float32"})
        assert parts["model"].dtype == torch.float32 and parts["dtype"] == torch.float32
        assert "torch_dtype" not in parts
    assert parts["processor"]("good movie")["input_ids"] == clf.tokenizer("good movie")["input_ids"]


@pytest.mark.parametrize(
    "last_call",
    [
        {},
        {"padding": True},
        {"padding": "max_length", "max_length": 8},
        {"truncation": True, "max_length": 2, "padding": "longest"},
    ],
)
def test_tokenizer_bytes_do_not_depend_on_its_last_call(
    tmp_path: Path, clf: Any, last_call: dict[str, Any]
) -> None:
    tok = clf.tokenizer
    tok(TEXTS[:2])  # a plain call: no padding, no truncation left behind
    flavor.save_model(clf, tmp_path / "plain", pip_requirements=REQS)
    tok(TEXTS, **last_call)
    state = (tok.backend_tokenizer.padding, tok.backend_tokenizer.truncation)
    flavor.save_model(clf, tmp_path / "used", pip_requirements=REQS)
    assert (tok.backend_tokenizer.padding, tok.backend_tokenizer.truncation) == state
    for rel in (
        "components/tokenizer/tokenizer.json",
        "components/tokenizer/tokenizer_config.json",
    ):
        assert (tmp_path / "plain" / rel).read_bytes() == (tmp_path / "used" / rel).read_bytes()
    loaded = flavor.load_model(tmp_path / "used", return_type="components")["tokenizer"]
    assert loaded(TEXTS, **last_call)["input_ids"] == tok(TEXTS, **last_call)["input_ids"]


def test_other_pipelines_save_but_do_not_predict_through_pyfunc(tmp_path: Path) -> None:
    tokenizer = _tokenizer(cls_token="[CLS]", sep_token="[SEP]", mask_token="[UNK]")
    config = transformers.BertConfig(
        vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(config).eval()
    path = tmp_path / "m"
    flavor.save_model({"model": model, "tokenizer": tokenizer}, path, pip_requirements=REQS)
    assert Model.load(path).flavors["transformers"]["task"] == "fill-mask"
    assert isinstance(flavor.load_model(path), transformers.FillMaskPipeline)
    with pytest.raises(InvalidInputError, match="FillMaskPipeline is not supported"):
        load_pyfunc(path).predict(["good [UNK]"])


def test_requirements_are_inferred(tmp_path: Path, clf: Any) -> None:
    flavor.save_model(clf, tmp_path / "m")
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    names = {r.split("==")[0] for r in reqs}
    assert {"transformers", "torch"} <= names
    assert f"transformers=={transformers.__version__}" in reqs


def test_registry_and_lazy_import() -> None:
    assert _registry.flavor_for_loader_module("mlflow.transformers") == "transformers"
    assert _registry.install_hint("transformers") == "pip install 'modelshelf[transformers]'"
    code = (
        "import sys, modelshelf, modelshelf.flavors.transformers\n"
        "print([m for m in ('transformers', 'torch') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_transformers_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clf: Any
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"modelshelf\[transformers\]"):
        flavor.save_model(clf, tmp_path / "m")


def _blobs(shelf: Any) -> set[str]:
    return {o.key for o in shelf.storage.list("objects/")}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fine_tune_reuploads_only_new_weights(tmp_path: Path, clf: Any) -> None:
    import copy

    import modelshelf
    from modelshelf._shelf import Shelf, reset_shelf, set_shelf

    shelf = set_shelf(Shelf(str(tmp_path / "shelf")))
    try:
        with modelshelf.start_run():
            first = flavor.log_model(clf, name="base", pip_requirements=REQS)
        before = _blobs(shelf)
        tuned = _train(copy.deepcopy(clf.model), clf.tokenizer, 3, 1)
        tuned_pipe = transformers.pipeline(
            "text-classification", model=tuned, tokenizer=clf.tokenizer
        )
        padding = clf.tokenizer.backend_tokenizer.padding
        assert padding is not None  # training padded: tokenizer.json would differ unless cleared
        with modelshelf.start_run():
            second = flavor.log_model(tuned_pipe, name="tuned", pip_requirements=REQS)
        assert clf.tokenizer.backend_tokenizer.padding == padding  # the state is put back
        new = _blobs(shelf) - before
        local = Path(modelshelf.uri.local_model_dir(second.model_uri))
        changed = {_sha(local / "model" / "model.safetensors"), _sha(local / "MLmodel")}
        new_digests = {k.rsplit("/", 1)[-1] for k in new}
        # the new weights, the new MLmodel and the tree manifest: no tokenizer/config bytes
        assert changed <= new_digests
        assert len(new_digests - changed) == 1, sorted(new)
        for rel in files(local):
            if rel.startswith(("components/", "model/config.json")):
                assert _sha(local / rel) not in new_digests, rel
        pd.testing.assert_frame_equal(
            modelshelf.pyfunc.load_model(second.model_uri).predict(TEXTS), _frame(tuned_pipe, TEXTS)
        )
        assert first.model_uri != second.model_uri
    finally:
        reset_shelf()


@pytest.mark.interop
@pytest.mark.parametrize("task", ["text-classification", "text-generation"])
def test_mlflow_both_ways(tmp_path: Path, clf: Any, gen: Any, task: str) -> None:
    mlflow_transformers = pytest.importorskip("mlflow.transformers")
    import mlflow.pyfunc

    pipe = clf if task == "text-classification" else gen
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    kw: dict[str, Any] = {"input_example": TEXTS[:2], "pip_requirements": REQS}
    if task == "text-generation":
        kw["model_config"] = GEN_CONFIG
    flavor.save_model(pipe, ours, **kw)
    mlflow_transformers.save_model(pipe, theirs, **kw)
    assert_same_as_mlflow(ours, theirs)
    expected = theirs_pred = mlflow.pyfunc.load_model(str(theirs)).predict(TEXTS)
    if task == "text-classification":
        pd.testing.assert_frame_equal(expected, _frame(clf, TEXTS))
    else:
        assert expected == [gen(t, **GEN_CONFIG)[0]["generated_text"].strip() for t in TEXTS]
    # MLflow loads what modelshelf wrote...
    ours_in_mlflow = mlflow.pyfunc.load_model(str(ours)).predict(TEXTS)
    # ...and modelshelf loads what MLflow wrote, predicting the same.
    theirs_here = load_pyfunc(theirs).predict(TEXTS)
    ours_here = load_pyfunc(ours).predict(TEXTS)
    for got in (ours_in_mlflow, theirs_here, ours_here):
        if task == "text-classification":
            pd.testing.assert_frame_equal(got, theirs_pred)
        else:
            assert got == theirs_pred
    native = mlflow_transformers.load_model(str(ours))
    assert type(native) is type(pipe)
    assert type(flavor.load_model(theirs)) is type(pipe)


WITHOUT_MLFLOW = """
import json, sys
sys.modules["mlflow"] = None  # any `import mlflow...` now raises ImportError
from modelshelf.flavors import register_pyfunc_loaders
from modelshelf.pyfunc import load_model_from_dir, register_loader
register_pyfunc_loaders(register_loader)
out = load_model_from_dir(sys.argv[1]).predict(json.loads(sys.argv[2]))
print(json.dumps(out.to_dict(orient="list")))
"""


@pytest.mark.interop
def test_mlflow_written_model_loads_without_mlflow(tmp_path: Path, clf: Any) -> None:
    import json

    mlflow_transformers = pytest.importorskip("mlflow.transformers")
    mlflow_transformers.save_model(clf, tmp_path / "theirs", pip_requirements=REQS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_MLFLOW, str(tmp_path / "theirs"), json.dumps(TEXTS)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    got = pd.DataFrame(json.loads(out.stdout.strip().splitlines()[-1]))
    pd.testing.assert_frame_equal(got, _frame(clf, TEXTS), check_dtype=False)
