"""``modelshelf models list|show|history``: registered models and the registry's audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from modelshelf.cli._context import State, global_options, name_filter, pass_state
from modelshelf.cli._output import details, emit, short_digest, table, timestamp

__all__ = ["models"]


@click.group()
def models() -> None:
    """Registered models: list, show, history."""


@models.command("list")
@click.option(
    "--filter",
    "filter_string",
    metavar="FILTER",
    help="MLflow filter, e.g. \"name LIKE 'churn%'\" or \"tags.team = 'risk'\".",
)
@global_options
@pass_state
def list_models(state: State, filter_string: str | None) -> None:
    """List the registered models, by name."""
    client = state.client()
    found: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_registered_models(filter_string, max_results=1000, page_token=token)
        found += page
        token = page.token
        if not token:
            break

    def human() -> str:
        rows = [
            (m.name, _latest(m), _aliases(m.aliases), timestamp(m.last_updated_timestamp),
             m.description)
            for m in found
        ]  # fmt: skip
        return table(
            ["name", "latest", "aliases", "updated (utc)", "description"],
            rows,
            empty="no registered models",
        )

    emit(state, found, human)


@models.command("show")
@click.argument("name")
@global_options
@pass_state
def show_model(state: State, name: str) -> None:
    """Show a registered model: aliases, tags and its live versions."""
    client = state.client()
    model = client.get_registered_model(name)
    versions = client.search_model_versions(name_filter(name), order_by=["version_number DESC"])

    def human() -> str:
        head = details([
            ("name", model.name),
            ("description", model.description),
            ("created", timestamp(model.creation_timestamp)),
            ("updated", timestamp(model.last_updated_timestamp)),
            ("aliases", {a: f"version {v}" for a, v in sorted(model.aliases.items())}),
            ("tags", model.tags),
        ])  # fmt: skip
        rows = [
            (
                v.version,
                [f"@{a}" for a in v.aliases],
                short_digest(v.digest),
                timestamp(v.creation_timestamp),
                v.source,
            )
            for v in versions
        ]
        body = table(
            ["version", "aliases", "digest", "created (utc)", "source"],
            rows,
            empty="no live versions",
        )
        return f"{head}\n\n{body}"

    data = model.to_dict()
    data["versions"] = [v.to_dict() for v in versions]
    emit(state, data, human)


@models.command("history")
@click.argument("name", required=False)
@click.option(
    "--since",
    metavar="SEQ|ISO-TIME",
    help="Only changes after commit SEQ, or at/after an ISO time (UTC if no zone).",
)
@global_options
@pass_state
def history(state: State, name: str | None, since: str | None) -> None:
    """Every registry change, oldest first (of model NAME, followed through renames)."""
    client = state.client()
    when: datetime | int | None = None
    if since is not None:
        when = _parse_since(since)
    changes = client.get_registry_history(name, since=when)
    from modelshelf.signing import resolve_trusted_keys

    trusted = resolve_trusted_keys()

    def signer(key_id: str | None) -> str:
        if key_id is None:
            return "-"
        return trusted.name(key_id) or key_id[:12]

    def human() -> str:
        rows = [
            (c.seq, timestamp(c.timestamp), c.actor, signer(c.signer), c.action, c.name,
             c.version, c.key, _change(c.old, c.new))
            for c in changes
        ]  # fmt: skip
        return table(
            [
                "seq",
                "time (utc)",
                "actor",
                "signed by",
                "action",
                "model",
                "version",
                "key",
                "change",
            ],
            rows,
            empty="no changes",
        )

    emit(state, changes, human)


def _parse_since(text: str) -> datetime | int:
    if text.isdigit():
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a commit number nor an ISO time like 2026-01-31T12:00",
            param_hint="--since",
        ) from None


def _latest(model: Any) -> str:
    numbers = [v.version for v in model.latest_versions]
    return str(max(numbers)) if numbers else "-"


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"@{a}={v}" for a, v in sorted(aliases.items())) or "-"


def _change(old: Any, new: Any) -> str:
    if old is None and new is None:
        return "-"
    if old is None:
        return str(new)
    return f"{old} -> {'-' if new is None else new}"
