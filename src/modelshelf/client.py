"""``Client``: MLflow's ``MlflowClient`` surface (runs + registry) on one shelf."""

from __future__ import annotations

from typing import Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.registry import RegistryClient
from modelshelf.runs import RunsClient

__all__ = ["Client", "MlflowClient"]


class Client(RunsClient, RegistryClient):
    """Runs, artifacts and the model registry of one shelf, with ``MlflowClient``'s method names.

    Args:
        shelf: a shelf URL or :class:`Shelf`; default: the current shelf (``set_shelf``,
            ``MODELSHELF_URI``, else ``./shelf``).
        tracking_uri, registry_uri: MLflow's names for the same thing; a shelf URL.
        single_writer: allow registry writes on a backend that ignores conditional creates
            (your promise that only one process writes).
        checkpoint_interval: write a Parquet checkpoint every this many registry commits.
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
        **storage_options: Any,
    ) -> None:
        opened = get_shelf(shelf or registry_uri or tracking_uri, **storage_options)
        RunsClient.__init__(self, opened)
        # RunsClient initialised the registry half with defaults; apply the caller's options.
        RegistryClient.__init__(
            self, opened, single_writer=single_writer, checkpoint_interval=checkpoint_interval
        )

    def __repr__(self) -> str:
        return f"Client({self.shelf.url!r})"


MlflowClient = Client
