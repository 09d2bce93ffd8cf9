"""``modelshelf keys generate|id|sign-policy``: signing keys and the signed write policy."""

from __future__ import annotations

import json
from pathlib import Path

import click

from modelshelf.cli._context import State, global_options, pass_state
from modelshelf.cli._output import emit

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Signing keys (ECDSA P-256) for signed registry history and model signatures."""


@keys.command("generate")
@click.argument("path", type=click.Path(dir_okay=False))
@global_options
@pass_state
def generate(state: State, path: str) -> None:
    """Write a new private key at PATH (mode 0600) and its public key beside it (.pub).

    Writers sign with the private key (MODELSHELF_SIGNING_KEY=PATH); readers trust the public
    key (MODELSHELF_TRUSTED_KEYS=PUB). The same key signs model folders in the OpenSSF
    model-signing format, which is why it is P-256 rather than Ed25519.
    """
    from modelshelf.signing import generate_key_pair

    private, public, key_id = generate_key_pair(path)
    data = {"private_key": str(private), "public_key": str(public), "key_id": key_id}
    emit(state, data, f"key {key_id}\nprivate: {private}\npublic:  {public}")


@keys.command("id")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False))
@global_options
@pass_state
def key_id(state: State, public_key: str) -> None:
    """Print the id of PUBLIC_KEY (what commits record in ``signed_by``)."""
    from modelshelf.signing import key_id_of, load_public_key

    found = key_id_of(load_public_key(public_key))
    emit(state, {"public_key": public_key, "key_id": found}, found)


@keys.command("sign-policy")
@click.argument("policy", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@global_options
@pass_state
def sign_policy(state: State, policy: str, key_path: str, output: str) -> None:
    """Sign the write policy POLICY (JSON) with KEY; readers pin OUTPUT (MODELSHELF_POLICY)."""
    from modelshelf.signing import load_signing_key
    from modelshelf.signing import sign_policy as sign

    try:
        doc = json.loads(Path(policy).read_text())
    except ValueError as exc:
        raise click.BadParameter(f"{policy} is not JSON: {exc}", param_hint="POLICY") from None
    Path(output).write_bytes(sign(doc, load_signing_key(key_path)))
    emit(state, {"policy": output}, f"signed policy written to {output}")
