"""The signing commands: ``keys generate|id|sign-policy``, ``models history`` (who signed),
``verify --trusted-key / --expect-head`` and ``download --signature``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click")

from modelshelf import Client  # noqa: E402
from modelshelf.registry._log import log_key  # noqa: E402
from modelshelf.registry._replica import clear_replicas  # noqa: E402
from modelshelf.storage import open_storage  # noqa: E402
from tests.cli._helpers import Cli  # noqa: E402
from tests.signing.conftest import save  # noqa: E402


@pytest.fixture
def cli() -> Cli:
    return Cli()


def test_keys_history_verify_and_download(
    cli: Cli, tmp_path: Path, trained: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = cli.json(["keys", "generate", str(tmp_path / "release.pem")])
    private, public = Path(made["private_key"]), Path(made["public_key"])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and public.name == "release.pub"
    assert cli.ok(["keys", "id", str(public)]).stdout.strip() == made["key_id"]
    assert "exists" in cli.fails(["keys", "generate", str(private)])  # never overwritten
    other = cli.json(["keys", "generate", str(tmp_path / "other.pem")])

    shelf = str(tmp_path / "shelf")
    monkeypatch.setenv("MODELSHELF_SIGNING_KEY", str(private))
    client = Client(shelf)
    client.create_registered_model("m")
    client.create_model_version("m", str(save(trained[0], tmp_path / "src")))
    client.set_registered_model_alias("m", "champion", 1)
    monkeypatch.delenv("MODELSHELF_SIGNING_KEY")
    clear_replicas()

    changes = cli.json(["models", "history", "--shelf", shelf])
    assert {c["signer"] for c in changes} == {made["key_id"]}
    monkeypatch.setenv("MODELSHELF_TRUSTED_KEYS", str(public))
    assert " release " in cli.ok(["models", "history", "--shelf", shelf]).stdout
    monkeypatch.delenv("MODELSHELF_TRUSTED_KEYS")

    report = cli.json(["verify", "--shelf", shelf, "--trusted-key", str(public)])
    assert report["ok"] and report["head"].startswith("3:")
    head = report["head"]
    wrong = cli(["verify", "--shelf", shelf, "--trusted-key", other["public_key"], "--json"])
    assert wrong.exit_code == 1
    assert log_key(1) in {p["key"] for p in json.loads(wrong.stdout)["problems"]}
    assert cli.json(["verify", "--shelf", shelf, "--expect-head", head])["ok"]
    assert "SEQ:SHA256" in cli.fails(["verify", "--shelf", shelf, "--expect-head", "3:xyz"])

    out = cli.json(
        ["download", "models:/m@champion", str(tmp_path / "dl"), "--shelf", shelf,
         "--signature", str(tmp_path / "m.sig"), "--signing-key", str(private)]
    )  # fmt: skip
    bundle = json.loads(Path(out["signature"]).read_text())
    assert {"mediaType", "verificationMaterial", "dsseEnvelope"} <= set(bundle)
    assert (Path(out["local_path"]) / "MLmodel").is_file()

    open_storage(shelf).delete(log_key(3))  # a rollback, seen against the recorded head
    clear_replicas()
    gone = cli(["verify", "--shelf", shelf, "--expect-head", head, "--json"])
    assert gone.exit_code == 1
    assert log_key(3) in {p["key"] for p in json.loads(gone.stdout)["problems"]}


def test_sign_policy(cli: Cli, tmp_path: Path) -> None:
    made = cli.json(["keys", "generate", str(tmp_path / "admin.pem")])
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"keys": {"admin": made["key_id"]}, "default": ["admin"]}))
    out = tmp_path / "policy.signed.json"
    cli.ok(["keys", "sign-policy", str(policy), "--key", made["private_key"], "-o", str(out)])
    from modelshelf.signing import Policy, TrustedKeys

    loaded = Policy.load(out, TrustedKeys.load([made["public_key"]]))
    assert loaded.signed_by == made["key_id"]
    policy.write_text(json.dumps({"keys": {}, "default": ["nobody"]}))
    assert "nobody" in cli.fails(
        ["keys", "sign-policy", str(policy), "--key", made["private_key"], "-o", str(out)]
    )
    assert os.path.exists(out)
