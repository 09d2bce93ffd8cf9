"""``modelshelf alias set|delete``: move or remove a model's named pointers (``@champion``)."""

from __future__ import annotations

import click

from modelshelf.cli._context import State, global_options, pass_state
from modelshelf.cli._output import emit

__all__ = ["alias"]


@click.group()
def alias() -> None:
    """Aliases (models:/NAME@ALIAS): set, delete."""


@alias.command("set")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version", type=int)
@global_options
@pass_state
def set_alias(state: State, name: str, alias_name: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it points elsewhere)."""
    client = state.client()
    before = client.get_registered_model(name).aliases.get(alias_name)
    client.set_registered_model_alias(name, alias_name, version)
    moved = f" (was {before})" if before is not None and before != version else ""
    emit(
        state,
        {"name": name, "alias": alias_name, "version": version, "previous": before},
        f"{name}@{alias_name} -> version {version}{moved}",
    )


@alias.command("delete")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@global_options
@pass_state
def delete_alias(state: State, name: str, alias_name: str) -> None:
    """Remove ALIAS from model NAME."""
    client = state.client()
    before = client.get_registered_model(name).aliases.get(alias_name)
    client.delete_registered_model_alias(name, alias_name)  # a no-op when absent
    text = (
        f"deleted {name}@{alias_name} (was version {before})"
        if before is not None
        else f"{name} has no alias {alias_name!r}; nothing to delete"
    )
    emit(
        state,
        {"name": name, "alias": alias_name, "deleted": before is not None, "previous": before},
        text,
    )
