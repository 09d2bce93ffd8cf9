"""Model versions in the OpenSSF model-signing format: the PyPI ``model_signing`` tool (run as
a subprocess) accepts an exported version, and a folder it signed registers with its
signature checked and kept."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("model_signing")

from modelshelf import Client, export_model_version, register_signed_model  # noqa: E402
from modelshelf._shelf import set_shelf  # noqa: E402
from modelshelf.errors import ConfigurationError, SignatureError  # noqa: E402
from modelshelf.pyfunc import load_model  # noqa: E402
from tests.signing.conftest import KeyPair, save  # noqa: E402

TOOL = str(Path(sys.executable).with_name("model_signing"))


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120)


def test_exported_version_verifies_with_the_model_signing_tool(
    tmp_path: Path, keys: dict[str, KeyPair], trained: Any
) -> None:
    shelf = str(tmp_path / "shelf")
    client = Client(shelf, signing_key=keys["release"].private)
    client.create_registered_model("m")
    client.create_model_version("m", str(save(trained[0], tmp_path / "src")))
    client.set_registered_model_alias("m", "champion", 1)
    set_shelf(shelf)
    out, sig = export_model_version(
        "models:/m@champion",
        tmp_path / "export",
        signature=tmp_path / "model.sig",
        signing_key=keys["release"].private,
    )
    assert sig is not None and b"dsseEnvelope" in sig.read_bytes()
    ok = _tool("verify", "key", "--signature", str(sig), "--public_key", str(keys["release"].public), str(out))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    # the tool is not a rubber stamp: another key, or one changed byte, fails
    wrong = _tool("verify", "key", "--signature", str(sig), "--public_key", str(keys["ci"].public), str(out))  # fmt: skip
    assert wrong.returncode != 0
    victim = next(p for p in out.rglob("*") if p.is_file() and p.name != "MLmodel")
    victim.write_bytes(victim.read_bytes() + b"!")
    changed = _tool("verify", "key", "--signature", str(sig), "--public_key", str(keys["release"].public), str(out))  # fmt: skip
    assert changed.returncode != 0


def test_folder_signed_by_the_tool_registers_checked_and_kept(
    tmp_path: Path, keys: dict[str, KeyPair], trained: Any
) -> None:
    folder = save(trained[1], tmp_path / "signed")
    sig = folder / "model.sig"  # inside the folder, as the tool's users often put it
    done = _tool("sign", "key", "--private_key", str(keys["ci"].private), "--signature", str(sig), str(folder))  # fmt: skip
    assert done.returncode == 0, done.stderr
    client = Client(str(tmp_path / "shelf"))
    client.create_registered_model("m")
    with pytest.raises(SignatureError, match="model.sig"):  # checked against the wrong key
        register_signed_model(
            "m", folder, signature=sig, public_key=keys["release"].public, client=client
        )
    mv = register_signed_model(
        "m", folder, signature=sig, public_key=keys["ci"].public, client=client
    )
    assert mv.version == 1 and "model.sig" not in {
        e.path for e in client.shelf.blobs.read_tree(mv.digest)
    }
    set_shelf(client.shelf)
    X = trained[2]
    assert np.allclose(load_model("models:/m/1").predict(X), trained[1].predict(X))
    # the kept bundle comes back out with the version, and the tool accepts it
    out, kept = export_model_version(
        "models:/m/1", tmp_path / "out", signature=tmp_path / "kept.sig"
    )
    assert kept is not None and kept.read_bytes() == sig.read_bytes()
    ok = _tool("verify", "key", "--signature", str(kept), "--public_key", str(keys["ci"].public), str(out))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    # a tampered folder is refused before anything is registered
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    (bad / "extra.txt").write_text("smuggled")
    with pytest.raises(SignatureError):
        register_signed_model("m", bad, signature=bad / "model.sig", public_key=keys["ci"].public, client=client)  # fmt: skip
    assert [v.version for v in client.search_model_versions("name = 'm'")] == [1]


def test_export_without_a_key_or_a_kept_signature_says_what_to_do(
    tmp_path: Path, trained: Any
) -> None:
    client = Client(str(tmp_path / "shelf"))
    client.create_registered_model("m")
    client.create_model_version("m", str(save(trained[0], tmp_path / "src")))
    with pytest.raises(ConfigurationError, match="signing key"):
        export_model_version(
            "models:/m/1", tmp_path / "x", signature=tmp_path / "s", shelf=client.shelf
        )
