"""What a model version is made from: a tree digest on the shelf plus where it came from.

The registry never parses URIs: the layer above resolves a ``source`` (a folder, a URL,
``runs:/…``, ``models:/…``, ``sha256:…``) through :mod:`modelshelf.uri` and hands the
registry a :class:`ModelSource`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from modelshelf.cas import Digest

__all__ = ["ModelSource", "SourceResolver"]


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A resolved model-version source.

    Attributes:
        digest: the tree digest of the version's files, stored on the registry's shelf.
        uri: the source as the user gave it (recorded as the version's ``source``).
        run_id: the run the files were logged in, when known (lineage).
        artifact_path: the path in that run, when known.
    """

    digest: Digest
    uri: str
    run_id: str | None = None
    artifact_path: str | None = None

    @property
    def lineage(self) -> dict[str, str]:
        """``{run_id, artifact_path}`` as far as known (what the commit records)."""
        found = {"run_id": self.run_id, "artifact_path": self.artifact_path}
        return {k: v for k, v in found.items() if v}


SourceResolver = Callable[[str | os.PathLike[str]], ModelSource]
"""Turns a source (a folder, URL or URI) into a :class:`ModelSource` on the registry's shelf."""
