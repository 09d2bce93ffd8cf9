"""Signed history beyond the attacks: keys, checkpoints, compatibility, head memory, forks,
run records, and writers without trusted keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelshelf import Client
from modelshelf.errors import ConfigurationError, RollbackError, SignatureError
from modelshelf.registry import RegistryClient
from modelshelf.registry._log import encode_commit, log_key, sha256_hex
from modelshelf.registry._replica import clear_replicas
from modelshelf.registry._signing import HEAD_FILE, seal_commit
from modelshelf.signing import (
    TrustedKeys,
    generate_key_pair,
    load_signing_key,
    open_signed,
    seal,
)
from modelshelf.storage import open_storage
from tests.registry._helpers import make_model_dir
from tests.signing.conftest import KeyPair


def _history(client: RegistryClient, root: Path, versions: int = 3) -> None:
    client.create_registered_model("m")
    for i in range(versions):
        client.create_model_version("m", str(make_model_dir(root / f"v{i}", f"w{i}")))
    client.set_registered_model_alias("m", "champion", versions)


def test_keys_are_p256_and_never_overwritten(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    priv, pub, key_id = generate_key_pair(tmp_path / "k.pem")
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600 and load_signing_key(priv).key_id == key_id
    with pytest.raises(ConfigurationError, match="exists"):
        generate_key_pair(priv)
    ed = tmp_path / "ed.pem"
    ed.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigurationError, match="P-256"):
        load_signing_key(ed)
    with pytest.raises(ConfigurationError, match="cannot load"):
        load_signing_key(tmp_path / "missing.pem")


@settings(max_examples=30, deadline=None)
@given(
    doc=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in ("signature", "signed_by")),
        st.one_of(st.none(), st.integers(), st.text(max_size=20), st.booleans()),
        max_size=5,
    ),
    key=st.text(min_size=1, max_size=30),
)
def test_any_json_object_round_trips_and_is_bound_to_its_key(
    doc: dict[str, Any], key: str, signing_pair: tuple[Any, TrustedKeys]
) -> None:
    signer, trusted = signing_pair
    data = seal(doc, key, signer)
    opened, by = open_signed(data, key, trusted)
    assert by == signer.key_id and {k: v for k, v in opened.items() if k != "signed_by"} == doc
    with pytest.raises(SignatureError):
        open_signed(data, key + "x", trusted)  # moved to another key


@pytest.fixture(scope="module")
def signing_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, TrustedKeys]:
    priv, pub, _ = generate_key_pair(tmp_path_factory.mktemp("k") / "k.pem")
    return load_signing_key(priv), TrustedKeys.load([pub])


def test_trusted_reader_loads_through_signed_checkpoints_and_remembers_its_head(
    tmp_path: Path, keys: dict[str, KeyPair], _isolated_settings: Path
) -> None:
    shelf = str(tmp_path / "shelf")
    writer = RegistryClient(shelf, signing_key=keys["release"].private, checkpoint_interval=3)
    _history(writer, tmp_path, versions=5)
    hint = json.loads(open_storage(shelf).read("registry/_latest"))
    assert hint["seq"] >= 3
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=[keys["release"].public])
    assert reader.get_model_version_by_alias("m", "champion").version == 5
    assert reader._reg_replica.loaded_from == hint["seq"]  # the signed checkpoint was used
    head_files = list(_isolated_settings.rglob(HEAD_FILE))
    assert len(head_files) == 1 and stat.S_IMODE(head_files[0].stat().st_mode) == 0o600
    assert json.loads(head_files[0].read_text())["seq"] == reader._reg_state().seq
    assert reader.verify().ok
    # A reader without trusted keys reads signed history as before.
    clear_replicas()
    assert RegistryClient(shelf).get_model_version_by_alias("m", "champion").version == 5


def test_unsigned_history_fails_closed(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    shelf = str(tmp_path / "shelf")
    _history(RegistryClient(shelf), tmp_path)
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=[keys["release"].public])
    with pytest.raises(SignatureError, match=log_key(1)):
        reader.get_registered_model("m")
    report = reader.verify()
    assert {p.key for p in report.problems} >= {log_key(s) for s in range(1, 6)}


def test_a_fork_at_the_remembered_seq_is_refused(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    """A trusted key signed two commits at one seq (a restored backup written on): the reader
    that saw one refuses the other, even though both are signed."""
    shelf = str(tmp_path / "shelf")
    storage = open_storage(shelf)
    writer = RegistryClient(shelf, signing_key=keys["release"].private)
    _history(writer, tmp_path)
    head = writer._reg_state().seq
    trusted = [keys["release"].public]
    clear_replicas()
    RegistryClient(shelf, trusted_keys=trusted).get_registered_model("m")  # remembered
    prev = sha256_hex(storage.read(log_key(head - 1)))
    action = {"op": "set_alias", "name": "m", "alias": "champion", "version": 1}
    forked = encode_commit(head, prev, [action], time_ms=10**13, nonce="f")
    storage.write(
        log_key(head),
        seal_commit(forked, head, load_signing_key(keys["release"].private)),
        overwrite=True,
    )
    clear_replicas()
    with pytest.raises(RollbackError, match="forked"):
        RegistryClient(shelf, trusted_keys=trusted).get_registered_model("m")


def test_signed_run_records(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    shelf = str(tmp_path / "shelf")
    writer = Client(shelf, signing_key=keys["release"].private)
    run_id = writer.create_run(run_name="r").info.run_id
    writer.log_param(run_id, "lr", 0.1)
    writer.log_metric(run_id, "loss", 0.5)
    writer.set_tag(run_id, "team", "a")
    writer.log_artifacts(run_id, str(make_model_dir(tmp_path / "m")), "model")
    writer.set_terminated(run_id)
    raw = json.loads(open_storage(shelf).read(f"runs/{run_id}/meta.json"))
    assert raw["signed_by"] == keys["release"].key_id and raw["signature"]
    for client in (
        Client(shelf),  # no keys: signed records read as before
        Client(shelf, trusted_keys=[keys["release"].public]),
    ):
        run = client.get_run(run_id)
        assert run.data.params == {"lr": "0.1"} and run.data.metrics == {"loss": 0.5}
        assert run.data.tags["team"] == "a" and run.info.status == "FINISHED"
    stranger = Client(shelf, trusted_keys=[keys["ci"].public])
    with pytest.raises(SignatureError, match="does not trust"):
        stranger.get_run(run_id)
    unsigned = Client(str(tmp_path / "plain"))
    plain_run = unsigned.create_run().info.run_id
    with pytest.raises(SignatureError, match="meta.json"):
        Client(str(tmp_path / "plain"), trusted_keys=[keys["release"].public]).get_run(plain_run)


def test_policy_needs_trusted_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHELF_POLICY", str(tmp_path / "p.json"))
    with pytest.raises(ConfigurationError, match="trusted keys"):
        RegistryClient(str(tmp_path / "shelf"))


def test_checkpoint_by_a_key_the_policy_does_not_allow_is_ignored(
    tmp_path: Path, keys: dict[str, KeyPair]
) -> None:
    """A compromised ci key could sign a checkpoint moving any alias; readers pinning a policy
    that lets only release keys sign checkpoints replay the signed log instead."""
    from modelshelf.registry._checkpoint import checkpoint_prefix
    from modelshelf.signing import sign_policy

    shelf = str(tmp_path / "shelf")
    release = RegistryClient(shelf, signing_key=keys["release"].private)
    _history(release, tmp_path, versions=2)
    ci = RegistryClient(shelf, signing_key=keys["ci"].private)  # pins no policy
    state = ci._reg_state()
    state.models["m"].aliases["champion"] = 1  # the forgery, signed by a trusted key
    seq = ci._reg_write_checkpoint()
    policy = {
        "keys": {"release": keys["release"].key_id, "ci": keys["ci"].key_id},
        "default": ["release", "ci"],
        "checkpoints": ["release"],
    }
    pinned = tmp_path / "policy.json"
    pinned.write_bytes(sign_policy(policy, load_signing_key(keys["release"].private)))
    clear_replicas()
    trusted = [keys["release"].public, keys["ci"].public]
    reader = RegistryClient(shelf, trusted_keys=trusted, policy=pinned)
    assert reader.get_model_version_by_alias("m", "champion").version == 2
    assert reader._reg_replica.loaded_from is None
    problems = {p.key for p in reader.verify().problems}
    assert checkpoint_prefix(seq) in problems


def test_a_trusting_client_writes_only_with_a_trusted_key(
    tmp_path: Path, keys: dict[str, KeyPair]
) -> None:
    shelf = str(tmp_path / "shelf")
    trusted = [keys["release"].public]
    for key in (None, keys["attacker"].private):
        client = Client(shelf, signing_key=key, trusted_keys=trusted)
        with pytest.raises(ConfigurationError, match="MODELSHELF_SIGNING_KEY|trusted keys"):
            client.create_registered_model("m")
        with pytest.raises(ConfigurationError, match="run record"):
            client.create_run()
    assert not open_storage(shelf).list("registry/log/") and not open_storage(shelf).list("runs/")
    ok = Client(shelf, signing_key=keys["release"].private, trusted_keys=trusted)
    ok.create_registered_model("m")
    assert ok.get_run(ok.create_run().info.run_id).info.status == "RUNNING"


def test_history_and_past_states_are_checked_too(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    from datetime import UTC, datetime

    shelf = str(tmp_path / "shelf")
    _history(RegistryClient(shelf, signing_key=keys["release"].private), tmp_path)
    trusted = [keys["release"].public]
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=trusted)
    assert {c.signer for c in reader.get_registry_history("m")} == {keys["release"].key_id}
    storage = open_storage(shelf)
    body = json.loads(storage.read(log_key(2)))
    body["actions"][0]["description"] = "edited"
    storage.write(log_key(2), json.dumps(body).encode(), overwrite=True)
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=trusted)
    with pytest.raises(SignatureError, match=log_key(2)):
        reader.get_registry_history("m")
    with pytest.raises(SignatureError, match=log_key(2)):
        reader.get_model_version_by_alias("m", "champion", as_of=datetime.now(UTC))


def test_adopting_signing_on_a_shelf_with_unsigned_history(
    tmp_path: Path, keys: dict[str, KeyPair]
) -> None:
    shelf = str(tmp_path / "shelf")
    plain = RegistryClient(shelf, checkpoint_interval=2)
    _history(plain, tmp_path, versions=2)  # 4 unsigned commits, an unsigned checkpoint at 2, 4
    anchor = plain.registry_head()
    signed = RegistryClient(shelf, signing_key=keys["release"].private, checkpoint_interval=0)
    signed.create_model_version("m", str(make_model_dir(tmp_path / "v9", "w9")))
    signed.set_registered_model_alias("m", "champion", 3)
    trusted = [keys["release"].public]
    clear_replicas()
    with pytest.raises(SignatureError, match="not signed"):  # no anchor: unsigned is refused
        RegistryClient(shelf, trusted_keys=trusted).get_registered_model("m")
    clear_replicas()
    reader = RegistryClient(shelf, trusted_keys=trusted, trust_from=anchor)
    assert reader.get_model_version_by_alias("m", "champion").version == 3
    assert reader._reg_replica.loaded_from is None  # unsigned checkpoints are not used
    report = reader.verify()
    assert report.ok, str(report)
    storage = open_storage(shelf)
    seq = int(anchor.split(":")[0])
    body = json.loads(storage.read(log_key(seq)))
    body["actions"][0]["version"] = 1
    storage.write(log_key(seq), json.dumps(body).encode(), overwrite=True)
    clear_replicas()
    with pytest.raises(SignatureError, match="trust_from"):
        RegistryClient(shelf, trusted_keys=trusted, trust_from=anchor).get_registered_model("m")
