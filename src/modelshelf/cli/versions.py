"""``modelshelf versions list|show|create|delete|tag``: versions of a registered model."""

from __future__ import annotations

from typing import Any

import click

from modelshelf.cli._context import State, global_options, name_filter, parse_key_values, pass_state
from modelshelf.cli._output import details, emit, short_digest, table, timestamp

__all__ = ["version_details", "versions"]


@click.group()
def versions() -> None:
    """Model versions: list, show, create, delete, tag."""


@versions.command("list")
@click.argument("name")
@global_options
@pass_state
def list_versions(state: State, name: str) -> None:
    """List the live versions of model NAME, newest first."""
    client = state.client()
    client.get_registered_model(name)  # an unknown model is an error, not an empty list
    found: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(
            name_filter(name), order_by=["version_number DESC"], page_token=token
        )
        found += page
        token = page.token
        if not token:
            break

    def human() -> str:
        rows = [
            (v.version, [f"@{a}" for a in v.aliases], short_digest(v.digest), v.run_id,
             timestamp(v.creation_timestamp), v.tags, v.source)
            for v in found
        ]  # fmt: skip
        return table(
            ["version", "aliases", "digest", "run", "created (utc)", "tags", "source"],
            rows,
            empty=f"model {name!r} has no live versions",
        )

    emit(state, found, human)


@versions.command("show")
@click.argument("name")
@click.argument("version")
@global_options
@pass_state
def show_version(state: State, name: str, version: str) -> None:
    """Show one version: VERSION is a number, `latest`, or an alias (`@champion`)."""
    client = state.client()
    if version.isdigit():
        found = client.get_model_version(name, version)
    elif version.lower() == "latest":
        found = client.resolve_version(name)
    else:
        found = client.get_model_version_by_alias(name, version.removeprefix("@"))
    emit(state, found, lambda: version_details(found))


@versions.command("create")
@click.argument("name")
@click.argument("source")
@click.option("--run-id", help="The run the files came from (lineage).")
@click.option(
    "--tag", "tags", metavar="KEY=VALUE", multiple=True, help="A version tag (repeatable)."
)
@click.option("--description", help="The version's description.")
@global_options
@pass_state
def create_version(
    state: State,
    name: str,
    source: str,
    run_id: str | None,
    tags: tuple[str, ...],
    description: str | None,
) -> None:
    """Register SOURCE as the next version of NAME (the model is created if needed).

    SOURCE is a local folder, an fsspec folder URL, runs:/<run_id>/<path>, models:/… or
    sha256:<tree digest>; its files are stored content-addressed and the version is bound to
    their digest.
    """
    from modelshelf.errors import ModelExistsError

    client = state.client()
    tag_map = {k: str(v) for k, v in parse_key_values(tags, "--tag").items()} if tags else None
    try:
        client.create_registered_model(name)
    except ModelExistsError:
        pass
    # A runs:/ or models:/ source names its run itself (the version's lineage).
    created = client.create_model_version(
        name, source, run_id=run_id, tags=tag_map, description=description
    )
    emit(
        state,
        created,
        lambda: f"created {created.name} version {created.version} ({created.digest})",
    )


@versions.command("delete")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@global_options
@pass_state
def delete_version(state: State, name: str, version: int, yes: bool) -> None:
    """Delete (tombstone) a version: it disappears from reads, its aliases are removed, its
    number is never reused; `gc` frees its bytes after the grace period."""
    client = state.client()
    found = client.get_model_version(name, version)
    if not yes:
        aliases = (
            f" (aliases: {', '.join('@' + a for a in found.aliases)})" if found.aliases else ""
        )
        click.confirm(f"delete {name} version {version}{aliases}?", abort=True, err=True)
    client.delete_model_version(name, version)
    emit(
        state,
        {"name": name, "version": version, "deleted": True},
        f"deleted {name} version {version}",
    )


@versions.command("tag")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("key")
@click.argument("value")
@global_options
@pass_state
def tag_version(state: State, name: str, version: int, key: str, value: str) -> None:
    """Set tag KEY to VALUE on a version."""
    client = state.client()
    client.set_model_version_tag(name, version, key, value)
    emit(
        state,
        {"name": name, "version": version, "key": key, "value": value},
        f"{name} version {version}: {key} = {value}",
    )


def version_details(version: Any) -> str:
    """A model version as ``key: value`` lines."""
    return details([
        ("name", version.name),
        ("version", version.version),
        ("digest", version.digest),
        ("aliases", ", ".join(f"@{a}" for a in version.aliases)),
        ("source", version.source),
        ("run", version.run_id),
        ("created", timestamp(version.creation_timestamp)),
        ("updated", timestamp(version.last_updated_timestamp)),
        ("user", version.user_id),
        ("description", version.description),
        ("tags", version.tags),
        ("lineage", version.lineage),
    ])  # fmt: skip
