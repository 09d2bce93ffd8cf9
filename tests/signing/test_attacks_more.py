"""More attacks on signed history by someone who can write to (and delete from) the bucket but
holds no trusted private key, each on a local shelf and on S3 (moto) where storage matters:
with trusted keys, what ``load_model`` loads never changes without a typed error."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelshelf import Client
from modelshelf._shelf import set_shelf
from modelshelf.errors import (
    ArtifactNotFoundError,
    ConfigurationError,
    IntegrityError,
    InvalidInputError,
    LogHoleError,
    MalformedMetadataError,
    RollbackError,
    SignatureError,
)
from modelshelf.pyfunc import load_model
from modelshelf.registry import RegistryClient
from modelshelf.registry._checkpoint import checkpoint_prefix
from modelshelf.registry._log import HINT_KEY, log_key, sha256_hex
from modelshelf.registry._replica import clear_replicas
from modelshelf.registry._signing import parse_head
from modelshelf.signing import HeadMemory, Policy, TrustedKeys, load_signing_key, seal
from tests.signing.conftest import KeyPair, World, save


def _fresh_machine(w: World, tmp_path: Path, name: str = "fresh") -> None:
    """Another machine: an empty cache folder, so no remembered head and no memos."""
    w.monkeypatch.setenv("MODELSHELF_CACHE_DIR", str(tmp_path / name))
    set_shelf(w.url, **w.options)
    clear_replicas()


# ------------------------------------------------------------------- checkpoints and policy
def test_checkpoint_by_a_key_the_policy_lets_write_but_not_move_the_alias(world: World) -> None:
    """The policy names no ``checkpoints`` rule: ci may write, but not move @champion. A
    checkpoint can say anything about any alias, so by default only a key every rule allows
    may sign one; a compromised ci key cannot move @champion through a checkpoint."""
    ci = world.keys["ci"].private

    def attack() -> int:
        forger = RegistryClient(world.url, signing_key=ci, **world.options)
        forger._reg_state().models["m"].aliases["champion"] = 1
        return forger._reg_write_checkpoint()

    seq = world.untrusted(attack)
    assert np.allclose(world.untrusted(world.load), world.old)  # untrusted readers use it
    assert np.allclose(world.load(), world.expected)  # trusted readers replay the signed log
    world.verify_names(checkpoint_prefix(seq))


def test_policy_default_checkpoint_signers_are_the_keys_every_rule_allows(
    keys: dict[str, KeyPair],
) -> None:
    ids = {"release": keys["release"].key_id, "ci": keys["ci"].key_id}
    doc = {
        "keys": ids,
        "default": ["release", "ci"],
        "versions": {"fraud-*": ["release", "ci"]},
        "aliases": {"*@production": ["release"]},
    }
    policy = Policy.from_doc(doc, ids["release"])
    assert policy.check("checkpoint", "checkpoints", ids["release"]) is None
    assert "may not sign" in str(policy.check("checkpoint", "checkpoints", ids["ci"]))
    explicit = Policy.from_doc({**doc, "checkpoints": ["ci"]}, ids["release"])  # named: as said
    assert explicit.check("checkpoint", "checkpoints", ids["ci"]) is None


def test_an_old_signed_checkpoint_named_by_the_hint_hides_nothing(world: World) -> None:
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    old = writer.registry._reg_write_checkpoint()
    writer.set_registered_model_alias("m", "champion", 1)
    writer.set_registered_model_alias("m", "champion", 2)
    writer.registry._reg_write_checkpoint()
    world.storage.write(HINT_KEY, json.dumps({"seq": old}).encode(), overwrite=True)
    assert np.allclose(world.load(), world.expected)  # the tail after it is read


def test_a_signed_object_moved_to_another_key_is_refused(world: World) -> None:
    """An old, validly signed commit replayed as the next one; a run's signed record copied
    over another's: the signature covers the key."""
    old = world.storage.read(log_key(world.head - 1))
    world.storage.write(log_key(world.head + 1), old)
    with pytest.raises(MalformedMetadataError, match=log_key(world.head + 1)):
        world.load()  # as copied: it says it is another seq
    body = json.loads(old)
    body.update(
        seq=world.head + 1, prev="sha256:" + sha256_hex(world.storage.read(log_key(world.head)))
    )
    world.storage.write(log_key(world.head + 1), json.dumps(body).encode(), overwrite=True)
    with pytest.raises(SignatureError, match=log_key(world.head + 1)):
        world.load()
    world.verify_names(log_key(world.head + 1))
    world.storage.delete(log_key(world.head + 1))
    clear_replicas()
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    other = writer.create_run(run_name="other").info.run_id
    src = f"runs/{other}/meta.json"
    dst = f"runs/{world.run_id}/meta.json"
    world.storage.write(dst, world.storage.read(src), overwrite=True)
    with pytest.raises(SignatureError, match=dst):
        Client(world.url, **world.options).get_run(world.run_id)


def test_stripping_the_signature_is_refused_also_after_trust_from(world: World) -> None:
    """``trust_from`` lets commits up to a recorded one be unsigned; a later commit with its
    signature fields removed is still refused."""
    anchor = f"1:{sha256_hex(world.storage.read(log_key(1)))}"
    world.monkeypatch.setenv("MODELSHELF_TRUST_FROM", anchor)
    body = json.loads(world.storage.read(log_key(world.head)))
    del body["signature"], body["signed_by"]
    body["actions"][0]["version"] = 1
    world.storage.write(log_key(world.head), json.dumps(body).encode(), overwrite=True)
    with pytest.raises(SignatureError, match="not signed"):
        world.load()


# ------------------------------------------------------------------------ canonical bytes
def _reencode(w: World, change: Any) -> None:
    key = log_key(w.head)
    w.storage.write(key, change(w.storage.read(key)), overwrite=True)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: json.dumps(json.loads(d), indent=1).encode(), id="whitespace"),
        pytest.param(lambda d: b'{"actions":[],' + d[1:], id="duplicate-key"),
        pytest.param(lambda d: d.replace(b'"signature":"', b'"signature":"\\n'), id="base64-junk"),
        pytest.param("high-s", id="high-s"),
    ],
)
def test_a_signed_object_has_one_byte_form(
    world: World, change: Any, tmp_path: Path, keys: dict[str, KeyPair]
) -> None:
    """Re-encoding the newest commit (whitespace, a duplicate key, junk in the base64, the
    other ECDSA signature of the same bytes) keeps every signed field, yet changes its sha256:
    the head recorded with ``verify`` would no longer match, and parsers that read duplicate
    keys differently would see other actions. Only the bytes the signer wrote verify."""
    if change == "high-s":
        change = _flip_s
    _reencode(world, change)
    _fresh_machine(world, tmp_path)
    with pytest.raises(SignatureError, match=log_key(world.head)):
        world.load()
    world.verify_names(log_key(world.head))


def _flip_s(data: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order
    doc = json.loads(data)
    r, s = decode_dss_signature(base64.b64decode(doc["signature"]))
    doc["signature"] = base64.b64encode(encode_dss_signature(r, n - s)).decode()
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_lone_surrogate_is_a_signature_error(world: World, tmp_path: Path) -> None:
    body = json.loads(world.storage.read(log_key(world.head)))
    body["actions"][0]["alias"] = "\ud800"
    world.storage.write(log_key(world.head), json.dumps(body).encode(), overwrite=True)
    _fresh_machine(world, tmp_path)
    with pytest.raises(SignatureError, match=log_key(world.head)):
        world.load()


def test_signing_values_with_lone_surrogates_round_trips(keys: dict[str, KeyPair]) -> None:
    from modelshelf.signing import open_signed

    signer = load_signing_key(keys["release"].private)
    data = seal({"v": "a\udcff"}, "k", signer)
    assert open_signed(data, "k", TrustedKeys.load([keys["release"].public]))[0]["v"] == "a\udcff"


# ---------------------------------------------------------------------------- run records
def test_a_run_record_emptied_is_refused(world: World) -> None:
    """Empty objects are unsigned markers; a record replaced by an empty object is not one."""
    key = f"runs/{world.run_id}/artifacts/model"
    world.storage.write(key, b"", overwrite=True)
    with pytest.raises(SignatureError, match=key):
        load_model(f"runs:/{world.run_id}/model")
    world.verify_names(key)
    meta = f"runs/{world.run_id}/meta.json"
    world.storage.write(meta, b"", overwrite=True)
    with pytest.raises(SignatureError, match=meta):
        Client(world.url, **world.options).get_run(world.run_id)


def test_a_deleted_run_pointer_is_a_typed_error(world: World) -> None:
    world.storage.delete(f"runs/{world.run_id}/artifacts/model")
    with pytest.raises(ArtifactNotFoundError):
        world.load()  # version 2 came from that run: its lineage check needs the pointer


def test_tampered_params_metrics_and_logged_models_are_refused(world: World) -> None:
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    writer.log_param(world.run_id, "lr", 0.1)
    writer.log_metric(world.run_id, "auc", 0.9)
    for prefix, field, value in (("params/", "value", "9"), ("metrics/", "metrics", [])):
        [info] = world.storage.list(f"runs/{world.run_id}/{prefix}")
        body = json.loads(world.storage.read(info.key))
        body[field] = value
        world.storage.write(info.key, json.dumps(body).encode(), overwrite=True)
        with pytest.raises(SignatureError, match=info.key):
            Client(world.url, **world.options).get_run(world.run_id)
        world.storage.delete(info.key)


# ------------------------------------------------------------------------------- content
def test_a_swapped_tree_manifest_under_a_signed_version_is_caught(
    world: World, tmp_path: Path
) -> None:
    client = Client(world.url, **world.options)
    v1, v2 = client.get_model_version("m", 1), client.get_model_version("m", 2)
    hex1, hex2 = v1.digest.split(":")[1], v2.digest.split(":")[1]
    tree2 = f"objects/sha256/{hex2[:2]}/{hex2}"
    world.storage.write(
        tree2, world.storage.read(f"objects/sha256/{hex1[:2]}/{hex1}"), overwrite=True
    )
    _fresh_machine(world, tmp_path)
    with pytest.raises(IntegrityError, match=hex2):
        world.load()


def test_a_version_memoised_without_keys_is_checked_with_keys(world: World, tmp_path: Path) -> None:
    """A process without trusted keys remembers what ``models:/m/3`` resolved to (an unsigned
    version the attacker appended); a process with trusted keys on the same machine must not
    load it from that memo."""

    def attack() -> Any:
        Client(world.url, **world.options).create_model_version(
            "m", str(save(_model(world), tmp_path / "evil"))
        )
        return load_model("models:/m/3").predict(world.X)

    assert np.allclose(world.untrusted(attack), world.old)
    clear_replicas()
    with pytest.raises(SignatureError, match=log_key(world.head + 1)):
        load_model("models:/m/3")


def _model(w: World) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(w.X, w.old)


# ---------------------------------------------------------------------------- head memory
def test_head_memory_never_moves_back_when_two_readers_interleave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two readers advance the remembered head at once: one read 5 as the next head, then
    paused before writing; the other wrote 10. The first must not put 5 over 10 (a lost update
    would let the commits after 5 be deleted unnoticed)."""
    memory = HeadMemory(tmp_path / "trusted_head.json")
    memory.put(1, "a" * 64)
    paused, release = threading.Event(), threading.Event()
    real = os.replace

    def slow_replace(src: Any, dst: Any) -> None:
        if threading.current_thread().name == "slow":
            paused.set()
            release.wait(timeout=5)
        real(src, dst)

    monkeypatch.setattr(os, "replace", slow_replace)
    slow = threading.Thread(target=memory.put, args=(5, "5" * 64), name="slow")
    slow.start()
    assert paused.wait(timeout=5)
    fast = threading.Thread(target=memory.put, args=(10, "f" * 64), name="fast")
    fast.start()
    time.sleep(0.2)
    release.set()
    slow.join(timeout=10)
    fast.join(timeout=10)
    assert memory.get() == (10, "f" * 64)


def _put_many(path: str, start: int, step: int, count: int) -> None:
    memory = HeadMemory(Path(path))
    for i in range(count):
        seq = start + i * step
        memory.put(seq, f"{seq:064x}")


def test_head_memory_from_several_processes_ends_at_the_highest(tmp_path: Path) -> None:
    import multiprocessing

    path = str(tmp_path / "trusted_head.json")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_put_many, args=(path, k, 4, 150)) for k in range(1, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    top = 4 + 149 * 4
    assert HeadMemory(Path(path)).get() == (top, f"{top:064x}")


# ---------------------------------------------------------------------- configuration
def test_a_trusted_keys_folder_without_keys_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, KeyPair]
) -> None:
    """A folder named as trusted keys that holds none (keys named ``*.key``, a typo'd mount)
    must not silently turn every check off."""
    shelf = str(tmp_path / "shelf")
    RegistryClient(shelf).create_registered_model("m")  # unsigned history
    empty = tmp_path / "keys"
    empty.mkdir()
    (empty / "release.key").write_bytes(keys["release"].public.read_bytes())
    clear_replicas()
    with pytest.raises(ConfigurationError, match="no public keys"):
        RegistryClient(shelf, trusted_keys=[empty]).get_registered_model("m")
    monkeypatch.setenv("MODELSHELF_TRUSTED_KEYS", str(empty))
    with pytest.raises(ConfigurationError, match="no public keys"):
        RegistryClient(shelf).get_registered_model("m")


@pytest.mark.parametrize(
    "text", ["\u00b2:" + "a" * 64, "0:" + "a" * 64, "-1:" + "a" * 64, "1:" + "g" * 64, "", "1"]
)
def test_a_bad_head_is_a_typed_error(text: str) -> None:
    with pytest.raises(InvalidInputError, match="SEQ:SHA256"):
        parse_head(text)


def test_cli_bad_head_and_key_are_one_line_errors(tmp_path: Path) -> None:
    pytest.importorskip("click")
    from tests.cli._helpers import Cli

    cli = Cli()
    shelf = str(tmp_path / "shelf")
    RegistryClient(shelf).create_registered_model("m")
    message = cli.fails(["verify", "--shelf", shelf, "--expect-head", "\u00b2:" + "a" * 64])
    assert "SEQ:SHA256" in message and "Traceback" not in message
    not_a_key = tmp_path / "notes.pub"
    not_a_key.write_text("hello")
    message = cli.fails(["verify", "--shelf", shelf, "--trusted-key", str(not_a_key)])
    assert "notes.pub" in message and "Traceback" not in message


def test_a_logged_model_record_swapped_is_refused(world: World, tmp_path: Path) -> None:
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    v2 = writer.get_model_version("m", 2)
    info = writer.runs.record_logged_model(world.run_id, "model", v2.digest)
    assert np.allclose(load_model(f"models:/{info.model_id}").predict(world.X), world.expected)
    key = f"logged_models/{info.model_id}.json"
    body = json.loads(world.storage.read(key))
    body["digest"] = writer.get_model_version("m", 1).digest
    world.storage.write(key, json.dumps(body).encode(), overwrite=True)
    assert np.allclose(load_model(f"models:/{info.model_id}").predict(world.X), world.expected)
    _fresh_machine(world, tmp_path)  # (this one remembered the verified answer)
    with pytest.raises(SignatureError, match=key):
        load_model(f"models:/{info.model_id}")


def test_signed_by_names_the_key_that_must_verify(keys: dict[str, KeyPair]) -> None:
    """Key ids are the sha256 of the public key: naming another trusted key's id in
    ``signed_by`` makes that key check the signature, and it fails."""
    from modelshelf.signing import open_signed

    data = seal({"a": 1}, "k", load_signing_key(keys["ci"].private))
    swapped = data.replace(keys["ci"].key_id.encode(), keys["release"].key_id.encode())
    trusted = TrustedKeys.load([keys["release"].public, keys["ci"].public])
    assert open_signed(data, "k", trusted)[1] == keys["ci"].key_id
    with pytest.raises(SignatureError, match="does not match"):
        open_signed(swapped, "k", trusted)


def test_a_signed_folder_registers_only_what_its_signature_covers(
    tmp_path: Path, keys: dict[str, KeyPair], trained: Any
) -> None:
    """``model_signing`` leaves top-level git paths (``.git/``, ``.github/``, ``.gitignore``,
    ``.gitattributes``) out of what it signs; files added there after signing must not be
    registered (or exported later as if the bundle covered them)."""
    pytest.importorskip("model_signing")
    from modelshelf import register_signed_model
    from modelshelf.signing._folders import sign_folder

    folder = save(trained[0], tmp_path / "model")
    sig = sign_folder(folder, keys["release"].private, tmp_path / "model.sig")
    (folder / ".github").mkdir()
    (folder / ".github" / "smuggled.py").write_text("import os\n")
    (folder / ".gitignore").write_text("*\n")
    client = Client(str(tmp_path / "shelf"))
    client.create_registered_model("m")
    mv = register_signed_model(
        "m", folder, signature=sig, public_key=keys["release"].public, client=client
    )
    paths = {e.path for e in client.shelf.blobs.read_tree(mv.digest)}
    assert "MLmodel" in paths and not any(p.startswith(".git") for p in paths), paths


def test_a_rename_cannot_carry_versions_and_aliases_past_the_policy(
    tmp_path: Path, keys: dict[str, KeyPair]
) -> None:
    """ci may not create versions of ``fraud-*`` nor move their aliases; building a model
    under another name and renaming it into ``fraud-*`` would do both."""
    from modelshelf.errors import PolicyViolationError
    from modelshelf.signing import sign_policy
    from tests.registry._helpers import make_model_dir

    ids = {"release": keys["release"].key_id, "ci": keys["ci"].key_id}
    doc = {
        "keys": ids,
        "default": ["release", "ci"],
        "versions": {"fraud-*": ["release"]},
        "aliases": {"fraud-*@*": ["release"]},
    }
    pinned = tmp_path / "policy.json"
    pinned.write_bytes(sign_policy(doc, load_signing_key(keys["release"].private)))
    shelf = str(tmp_path / "shelf")
    trusted = [keys["release"].public, keys["ci"].public]
    ci = RegistryClient(shelf, signing_key=keys["ci"].private, trusted_keys=trusted, policy=pinned)
    ci.create_registered_model("staging")
    ci.create_model_version("staging", str(make_model_dir(tmp_path / "v1", "evil")))
    ci.set_registered_model_alias("staging", "production", 1)
    with pytest.raises(PolicyViolationError, match="fraud-new"):
        ci.rename_registered_model("staging", "fraud-new")
    clear_replicas()
    RegistryClient(shelf, signing_key=keys["ci"].private).rename_registered_model(
        "staging", "fraud-new"
    )  # a ci writer that pins no policy
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=trusted, policy=pinned)
    with pytest.raises(PolicyViolationError, match="fraud-new"):
        reader.get_model_version_by_alias("fraud-new", "production")


def test_truncating_commits_and_checkpoints(world: World, tmp_path: Path) -> None:
    """Delete the newest commit, the checkpoint that covered it and the hint: a machine
    that remembers the head refuses; a fresh machine cannot know (trust on first use), but a
    head recorded elsewhere names the rollback."""
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    recorded = writer.registry_head()
    seq = writer.registry._reg_write_checkpoint()
    for info in world.storage.list(checkpoint_prefix(seq)):
        world.storage.delete(info.key)
    world.storage.delete(HINT_KEY)
    world.storage.delete(log_key(world.head))
    with pytest.raises(RollbackError, match=log_key(world.head)):
        world.load()
    _fresh_machine(world, tmp_path)
    assert np.allclose(world.load(), world.old)  # the documented limit of trust on first use
    report = Client(world.url, **world.options).verify(expect_head=recorded)
    assert log_key(world.head) in {p.key for p in report.problems}, str(report)


def test_every_test_the_threat_model_names_exists() -> None:
    import re

    from tests._servers import REPO_ROOT

    page = (REPO_ROOT / "docs" / "explanation" / "security.md").read_text()
    table = page[page.index("### Threat model") : page.index("What signing does **not** stop")]
    named = set(re.findall(r"`(test_\w+)`", table))
    defined = {
        name
        for path in (REPO_ROOT / "tests" / "signing").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    assert len(named) > 20 and named <= defined, sorted(named - defined)


def test_a_signed_checkpoint_beyond_the_log_is_a_rollback_on_a_fresh_machine(
    world: World, tmp_path: Path
) -> None:
    """The newest commit deleted, the signed checkpoint of it left: even a machine that
    remembers nothing holds proof that the log went further (the checkpoint's head)."""
    writer = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    seq = writer.registry._reg_write_checkpoint()
    world.storage.delete(log_key(seq))
    _fresh_machine(world, tmp_path)
    # The checkpoint past the end of the log is a hole every reader sees, keys or not.
    with pytest.raises(LogHoleError, match=log_key(seq)):
        world.untrusted(world.load)
    with pytest.raises((RollbackError, LogHoleError), match=log_key(seq)):
        world.load()


def test_a_key_replaced_in_its_folder_is_seen_by_a_running_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, KeyPair]
) -> None:
    """Rotating a leaked key by overwriting its file in the trusted folder must take effect
    without a restart (a server keeps running)."""
    from modelshelf.signing import resolve_trusted_keys

    folder = tmp_path / "trusted"
    folder.mkdir()
    key_file = folder / "release.pub"
    key_file.write_bytes(keys["release"].public.read_bytes())
    os.utime(key_file, ns=(10**18, 10**18))  # written long ago
    monkeypatch.setenv("MODELSHELF_TRUSTED_KEYS", str(folder))
    assert resolve_trusted_keys().ids() == [keys["release"].key_id]
    with open(key_file, "wb") as handle:  # in place: the folder's own mtime does not change
        handle.write(keys["ci"].public.read_bytes())
    os.utime(folder, ns=(folder.stat().st_atime_ns, folder.stat().st_mtime_ns))
    assert resolve_trusted_keys().ids() == [keys["ci"].key_id]
