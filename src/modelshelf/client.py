"""``Client``: MLflow's ``MlflowClient`` surface (runs + registry) on one shelf."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.registry import RegistryClient
from modelshelf.runs import RunsClient

if TYPE_CHECKING:
    from modelshelf.gc import GcPlan, GcResult
    from modelshelf.registry import ModelVersion

__all__ = ["Client", "MlflowClient"]


class Client(RunsClient, RegistryClient):
    """Runs, artifacts and the model registry of one shelf, with ``MlflowClient``'s method names.

    Args:
        shelf: a shelf URL or :class:`Shelf`; default: the current shelf (``set_shelf``,
            ``MODELSHELF_URI``, else ``./shelf``).
        tracking_uri: MLflow's name for ``shelf`` (a shelf URL).
        registry_uri: MLflow's name for ``shelf`` (a shelf URL).
        single_writer: allow registry writes on a backend that ignores conditional creates
            (your promise that only one process writes).
        checkpoint_interval: write a Parquet checkpoint every this many registry commits.
        signing_key: sign every commit, checkpoint and run record this client writes with
            this private key (a path, PEM bytes or a loaded key; default:
            ``MODELSHELF_SIGNING_KEY``).
        trusted_keys: trust only history signed by these public keys (default:
            ``MODELSHELF_TRUSTED_KEYS``, else the user's trusted-keys folder).
        policy: a signed write policy to pin (default: ``MODELSHELF_POLICY``).
        trust_from: ``SEQ:SHA256`` of the last commit accepted unsigned (a shelf that started
            signing late). See :class:`~modelshelf.registry.RegistryClient`.
        **storage_options: passed to fsspec unchanged when ``shelf`` is a URL.
    """

    def __init__(
        self,
        shelf: str | Shelf | None = None,
        *,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        single_writer: bool = False,
        checkpoint_interval: int = 100,
        signing_key: Any = None,
        trusted_keys: Any = None,
        policy: Any = None,
        trust_from: str | None = None,
        **storage_options: Any,
    ) -> None:
        opened = get_shelf(shelf or registry_uri or tracking_uri, **storage_options)
        RunsClient.__init__(self, opened, signing_key=signing_key, trusted_keys=trusted_keys)
        # RunsClient initialised the registry half with defaults; apply the caller's options.
        RegistryClient.__init__(
            self,
            opened,
            single_writer=single_writer,
            checkpoint_interval=checkpoint_interval,
            signing_key=signing_key,
            trusted_keys=trusted_keys,
            policy=policy,
            trust_from=trust_from,
        )

    def __repr__(self) -> str:
        return f"Client({self.shelf.url!r})"

    def gc(
        self,
        grace: timedelta | None = None,
        execute: bool = False,
        *,
        now: datetime | float | None = None,
    ) -> GcPlan | GcResult:
        """Garbage-collect this shelf's blobs: a plan by default, deletion only if asked.

        Marks every registry version (deleted ones until ``grace`` has passed), run artifact,
        logged model and pin; unreferenced blobs written more than ``grace`` ago are
        collectable. See :mod:`modelshelf.gc` for the safety argument.

        Args:
            grace: how long unreferenced blobs and deleted versions' blobs are kept
                (default ``MODELSHELF_GC_GRACE`` or 24 h).
            execute: run the plan: quarantine new garbage, delete old quarantined garbage
                (default: a dry run that changes nothing).
            now: measure ``grace`` from this instant instead of now (tests).

        Returns:
            The :class:`~modelshelf.gc.GcPlan` (dry run) or the
            :class:`~modelshelf.gc.GcResult` of executing it.

        Raises:
            InvalidInputError: ``grace`` is negative or not a timedelta.
            StorageError: the backend failed (a dry run deleted nothing).
        """
        from modelshelf.gc import plan_gc

        plan = plan_gc(self.shelf, grace=grace, now=now)
        return plan.execute(self.shelf) if execute else plan

    def copy_model_version(
        self,
        src_uri: str,
        dst_name: str,
        dst_shelf: str | Shelf | None = None,
        *,
        dst_storage_options: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Promote a model from this shelf to ``dst_shelf`` as the next version of ``dst_name``.

        ``src_uri`` is resolved on this shelf (``models:/name/3``, ``models:/name@alias``,
        ``runs:/<run_id>/model``, ``sha256:…``). Only blobs the destination lacks are copied
        (copying twice moves no bytes), digests stay the same, the registered model is
        created on the destination if needed, and the new version carries its provenance in
        ``modelshelf.source_shelf``, ``…source_name``, ``…source_version``,
        ``…source_digest`` and ``…source_uri`` tags (and in its description unless one is
        given).

        Args:
            src_uri: the model on this shelf.
            dst_name: the registered model on the destination.
            dst_shelf: destination shelf URL or :class:`~modelshelf.Shelf` (default: this one).
            dst_storage_options: fsspec options for a ``dst_shelf`` URL (credentials …).
            tags: more version tags (not ``modelshelf.source_*``).
            description: the new version's description.

        Returns:
            The new version on the destination.

        Raises:
            InvalidInputError: ``src_uri`` names a file, or ``tags`` use a reserved key.
            ModelNotFoundError, VersionNotFoundError, AliasNotFoundError, RunNotFoundError:
                ``src_uri`` does not resolve.
            ObjectNotFoundError, IntegrityError: a source blob is missing or corrupt.
            UnsafeBackendError: the destination cannot take registry writes.
        """
        from modelshelf._promote import copy_model_version

        return copy_model_version(
            self,
            src_uri,
            dst_name,
            dst_shelf,
            dst_storage_options=dst_storage_options,
            tags=tags,
            description=description,
        )


MlflowClient = Client
