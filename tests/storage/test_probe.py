"""``probe()`` tells a backend that enforces create-if-absent from one that ignores it."""

from __future__ import annotations

import uuid

import pytest

from modelshelf.storage import Storage, open_storage
from tests._servers import Endpoint


def test_probe_true_on_every_real_backend(storage: Storage) -> None:
    assert storage.probe() is True
    assert storage.list() == []


@pytest.mark.slow
@pytest.mark.xdist_group("gcpemulator")
def test_probe_false_on_gcp_storage_emulator(gcp_emulator_endpoint: Endpoint) -> None:
    # gcp-storage-emulator accepts ifGenerationMatch=0 and overwrites anyway (docs/explanation/backend-facts.md):
    # exactly the kind of store the registry must refuse for multi-writer use.
    url = f"{gcp_emulator_endpoint.base_url}/{uuid.uuid4().hex}"
    storage = open_storage(url, **gcp_emulator_endpoint.options)
    assert storage.probe() is False
    assert storage.list() == [], "probe() must clean up even when the backend fails it"


@pytest.mark.slow
@pytest.mark.xdist_group("gcpemulator")
def test_registry_refuses_a_backend_that_ignores_conditions(
    gcp_emulator_endpoint: Endpoint,
) -> None:
    from modelshelf.errors import UnsafeBackendError
    from modelshelf.registry import RegistryClient

    url = f"{gcp_emulator_endpoint.base_url}/{uuid.uuid4().hex}"
    client = RegistryClient(url, **gcp_emulator_endpoint.options)
    with pytest.raises(UnsafeBackendError, match="single_writer=True"):
        client.create_registered_model("m")
    assert open_storage(url, **gcp_emulator_endpoint.options).list("registry/") == []
    # The documented opt-in: one writer at a time, at the user's risk.
    single = RegistryClient(url, single_writer=True, **gcp_emulator_endpoint.options)
    single.create_registered_model("m")
    assert [m.name for m in single.search_registered_models()] == ["m"]
