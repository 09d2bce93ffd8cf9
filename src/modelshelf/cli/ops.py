"""One-verb commands on a whole shelf: ``download``, ``verify``, ``gc``, ``copy``, ``demo``."""

from __future__ import annotations

from datetime import timedelta

import click

from modelshelf.cli._context import DURATION, State, global_options, parse_key_values, pass_state
from modelshelf.cli._errors import EXIT_PROBLEMS
from modelshelf.cli._output import as_data, emit, human_bytes, short_digest

__all__ = ["copy", "demo", "download", "gc", "repair", "verify"]


@click.command()
@click.argument("uri")
@click.argument("dest", type=click.Path(file_okay=False, writable=True))
@click.option(
    "--signature",
    type=click.Path(dir_okay=False),
    help="Also write an OpenSSF model-signing bundle for the folder here (verify it with "
    "`model_signing verify key`): signed by --signing-key, else the one kept at registration.",
)
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False),
    help="P-256 private key for --signature (default: $MODELSHELF_SIGNING_KEY).",
)
@global_options
@pass_state
def download(
    state: State, uri: str, dest: str, signature: str | None, signing_key: str | None
) -> None:
    """Download what URI names into DEST, every byte checked against its digest.

    URI is models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/latest, runs:/RUN_ID/PATH,
    sha256:DIGEST, a folder URL or a local path. Model folders land in DEST itself.
    """
    if signature is not None:
        from modelshelf._model_signing import export_model_version

        local, sig = export_model_version(
            uri, dest, signature=signature, signing_key=signing_key, shelf=state.shelf()
        )
        data = {"uri": uri, "local_path": str(local), "signature": str(sig)}
        emit(state, data, f"{local}\nsignature: {sig}")
        return
    from modelshelf.uri import download_uri

    local = download_uri(
        uri, dst_path=dest, shelf=state.shelf(), storage_options=state.storage_options
    )
    emit(state, {"uri": uri, "local_path": str(local)}, str(local))


@click.command()
@click.option(
    "--deep",
    is_flag=True,
    help="Also re-hash every blob behind every version (reads all the bytes).",
)
@click.option(
    "--trusted-key",
    "trusted",
    multiple=True,
    type=click.Path(exists=True),
    help="A public key (or folder of them) to trust: every commit, checkpoint and run record "
    "must be signed by one (default: $MODELSHELF_TRUSTED_KEYS). Repeatable.",
)
@click.option(
    "--expect-head",
    metavar="SEQ:SHA256",
    help="A head recorded elsewhere (printed by an earlier verify): it must be in the log.",
)
@click.option(
    "--cache",
    "cache",
    is_flag=True,
    help="Check the local cache instead: re-hash every cached blob, model folder and memo, "
    "and repair what is bad (fetch it again, rebuild it, or remove it).",
)
@global_options
@pass_state
@click.pass_context
def verify(
    ctx: click.Context,
    state: State,
    deep: bool,
    trusted: tuple[str, ...],
    expect_head: str | None,
    cache: bool,
) -> None:
    """Check the registry: the commit hash chain, checkpoints, and that every version's files
    exist (--deep: and hash to their digests); with trusted keys, every signature, the write
    policy and the remembered head. Exits 1 when it finds problems.

    With --cache, check the local cache (it works offline); exits 1 when an entry was bad,
    even though it was repaired."""
    if cache:
        _verify_cache(ctx, state)
        return
    client = state.client()
    if trusted:
        from modelshelf.client import Client

        client = Client(state.shelf(), trusted_keys=list(trusted))
    report = client.verify(deep=deep, expect_head=expect_head)
    head = client.registry_head() if report.ok else None

    def human() -> str:
        lines = [str(report)]
        if head:
            lines.append(f"head: {head}")
        lines += [f"note: {n}" for n in report.notes]
        return "\n".join(lines)

    data = as_data(report)
    data["ok"] = report.ok
    data["problems"] = [{**as_data(p), "message": str(p)} for p in report.problems]
    data["head"] = head
    emit(state, data, human)
    if not report.ok:
        ctx.exit(EXIT_PROBLEMS)


def _verify_cache(ctx: click.Context, state: State) -> None:
    from modelshelf.uri import verify_cache

    report = verify_cache(state.shelf())
    data = as_data(report)
    data["ok"] = report.ok
    data["problems"] = [{**as_data(p), "message": str(p)} for p in report.problems]
    emit(state, data, lambda: "\n".join([str(report), *(f"note: {n}" for n in report.notes)]))
    if not report.ok:
        ctx.exit(EXIT_PROBLEMS)


@click.command()
@click.option(
    "--from",
    "source",
    metavar="COPY_URL",
    help="Another copy of this shelf (a backup) to restore missing commits from; a commit is "
    "restored only if its bytes hash to what the next commit recorded.",
)
@click.option(
    "--from-storage-option",
    "source_options",
    metavar="KEY=VALUE",
    multiple=True,
    help="fsspec option for the copy (repeatable).",
)
@click.option(
    "--truncate",
    is_flag=True,
    help="When a hole cannot be filled, move the commits and checkpoints from it on to "
    "registry/quarantine/ (their changes leave the registry; nothing is deleted uncopied).",
)
@click.option("--execute", is_flag=True, help="Do it. Without it repair only prints the plan.")
@global_options
@pass_state
@click.pass_context
def repair(
    ctx: click.Context,
    state: State,
    source: str | None,
    source_options: tuple[str, ...],
    truncate: bool,
    execute: bool,
) -> None:
    """Repair holes in the registry log and a bad _latest hint (a dry run by default).

    Exits 1 when the plan leaves a hole unresolved (pass --from or --truncate).
    """
    options = parse_key_values(source_options, "--from-storage-option")
    plan = state.client().plan_repair(source, truncate=truncate, **options)
    if execute and plan.ok:
        plan.execute()

    def human() -> str:
        lines = [str(plan)]
        if plan.steps and not plan.executed:
            lines.append(
                "dry run: nothing changed; pass --execute to apply"
                if plan.ok
                else "nothing changed: the plan leaves a hole"
            )
        elif plan.executed:
            lines.append("done; run `modelshelf verify` to check")
        return "\n".join(lines)

    data = {
        "holes": [list(h) for h in plan.holes],
        "steps": [{"kind": s.kind, "key": s.key, "detail": s.detail} for s in plan.steps],
        "unresolved": plan.unresolved,
        "executed": plan.executed,
        "ok": plan.ok,
    }
    emit(state, data, human)
    if not plan.ok:
        ctx.exit(EXIT_PROBLEMS)


@click.command()
@click.option(
    "--grace",
    type=DURATION,
    default="24h",
    show_default=True,
    help="Keep unreferenced blobs (and deleted versions' blobs) younger than this: "
    "30m, 24h, 7d or 0. A writer still uploading loses nothing.",
)
@click.option(
    "--execute",
    is_flag=True,
    help="Run the plan: quarantine new garbage, delete garbage quarantined at least "
    "MODELSHELF_GC_WINDOW ago. Without it gc only prints what it would do.",
)
@click.option(
    "--allow-problems",
    is_flag=True,
    help="Delete even if a referenced tree's manifest is missing or corrupt (its "
    "blobs may then go too).",
)
@global_options
@pass_state
def gc(state: State, grace: timedelta, execute: bool, allow_problems: bool) -> None:
    """Garbage-collect blobs no version, run or pin references (a dry run by default).

    The plan is made first; --execute moves what is still unreferenced to a quarantine and
    deletes what an earlier run quarantined long enough ago (see docs/operations.md).
    """
    from modelshelf.gc import plan_gc

    shelf = state.shelf()
    plan = plan_gc(shelf, grace=grace)
    result = plan.execute(shelf, allow_problems=allow_problems) if execute else None
    planned = as_data(plan)

    def human() -> str:
        lines = [
            f"gc on {shelf.url} (grace {_duration(grace)}): "
            f"{planned['count']} unreferenced blob(s), {human_bytes(planned['bytes'])}; "
            f"keeping {planned['kept']} ({planned['young']} unreferenced but younger)"
        ]
        lines += [f"problem: {p}" for p in planned.get("problems") or []]
        if planned.get("final_count") or planned.get("restore"):
            lines.append(
                f"{len(planned['quarantines'])} quarantine(s) due: delete "
                f"{planned['final_count']} blob(s), {human_bytes(planned['final_bytes'])}; "
                f"put back {len(planned['restore'])}"
            )
        if result is None:
            lines.append("dry run: nothing moved or deleted; pass --execute to run it")
        else:
            done = as_data(result)
            skipped = (
                f"; skipped {len(done['skipped'])} (referenced again)" if done["skipped"] else ""
            )
            lines.append(
                f"quarantined {len(done['quarantined'])} blob(s){skipped}; "
                f"deleted {len(done['deleted'])} blob(s), "
                f"{human_bytes(done['bytes_freed'])} freed; put back {len(done['restored'])}"
            )
            lines += [
                f"conflict: {c} is referenced but was deleted; run verify"
                for c in done["conflicts"]
            ]
        return "\n".join(lines)

    emit(state, {"plan": planned, "executed": execute, "result": as_data(result)}, human)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s" if seconds else "0"


@click.command()
@click.argument("uri")
@click.option("--to", "to_url", required=True, metavar="SHELF_URL", help="The destination shelf.")
@click.option("--name", help="The model name on the destination (default: the source's).")
@click.option(
    "--to-storage-option",
    "to_options",
    metavar="KEY=VALUE",
    multiple=True,
    help="fsspec option for the destination shelf (repeatable).",
)
@click.option(
    "--tag",
    "tags",
    metavar="KEY=VALUE",
    multiple=True,
    help="A tag for the new version (repeatable).",
)
@click.option("--description", help="The new version's description.")
@global_options
@pass_state
def copy(
    state: State,
    uri: str,
    to_url: str,
    name: str | None,
    to_options: tuple[str, ...],
    tags: tuple[str, ...],
    description: str | None,
) -> None:
    """Promote a model version to another shelf: copies only the blobs the destination lacks,
    keeps the digests, and records the source shelf, name and version (provenance).

    URI is models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/latest, or (with --name)
    runs:/RUN_ID/PATH or sha256:DIGEST.
    """
    from modelshelf._shelf import Shelf
    from modelshelf.errors import InvalidURIError
    from modelshelf.uri import parse_uri

    if name is None:
        name = parse_uri(uri).name
        if name is None:
            raise InvalidURIError(f"cannot tell the model name from {uri!r}; pass --name NAME")
    destination = Shelf(to_url, **parse_key_values(to_options, "--to-storage-option"))
    tag_map = {k: str(v) for k, v in parse_key_values(tags, "--tag").items()} or None
    copied = state.client().copy_model_version(
        uri, name, dst_shelf=destination, tags=tag_map, description=description
    )

    def human() -> str:
        version = getattr(copied, "version", "?")
        digest = short_digest(getattr(copied, "digest", None))
        return f"copied {uri} -> {to_url}: {name} version {version} ({digest})"

    emit(state, copied, human)


@click.command()
@global_options
@pass_state
@click.pass_context
def demo(ctx: click.Context, state: State) -> None:
    """Train, log, register, alias, load and predict a small sklearn model on the shelf, then
    print the history and a verify report (run it again for version 2, 3, …)."""
    from modelshelf import demo as demo_module

    state.shelf()  # the demo works on the current shelf, which this sets (with its options)
    code = demo_module.main([])
    if code:
        ctx.exit(code)
