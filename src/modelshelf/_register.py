"""``register_model``: MLflow's fluent registration, on the current shelf."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelshelf.errors import ModelExistsError

__all__ = ["register_model"]


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    shelf: Any = None,
) -> Any:
    """Create a new version of registered model ``name`` from ``model_uri`` (created if needed).

    ``model_uri`` is anything the resolver takes: ``runs:/<run_id>/model``, ``models:/…``, a
    local folder, a folder URL or a ``sha256:`` tree digest. Returns the ``ModelVersion``.

    Raises:
        InvalidNameError: ``name`` breaks the naming rules.
        NotFoundError: ``model_uri`` names nothing.
    """
    from modelshelf.client import Client

    client = Client(shelf)
    try:
        client.create_registered_model(name)
    except ModelExistsError:
        pass
    # The version's run id comes from the source's lineage (runs:/ and models:/ sources).
    return client.create_model_version(name, model_uri, tags=dict(tags) if tags else None)
