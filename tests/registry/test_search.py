"""Registry search through the shared grammar: NOT LIKE, typed errors, tokens per search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelshelf.errors import InvalidFilterError, InvalidInputError
from modelshelf.registry import RegistryClient


def test_not_like_on_models_and_versions(client: RegistryClient, model_dir: Path) -> None:
    for name in ["churn-a", "churn-b", "fraud"]:
        client.create_registered_model(name, tags={"team": "risk" if "churn" in name else "ops"})
    found = client.search_registered_models("name NOT LIKE 'churn%'")
    assert [m.name for m in found] == ["fraud"]
    found = client.search_registered_models("tags.team NOT ILIKE 'RISK'")
    assert [m.name for m in found] == ["fraud"]
    for i in range(3):
        client.create_model_version("fraud", str(model_dir), tags={"k": f"x{i}"})
    found = client.search_model_versions("name = 'fraud' AND tags.k NOT LIKE '%1'")
    assert [v.version for v in found] == [3, 1]


@pytest.mark.parametrize("bad", [3, 2.5, b"name = 'm'", ["name = 'm'"], {"name": "m"}])
def test_non_string_filters_are_typed_errors(client: RegistryClient, bad: Any) -> None:
    with pytest.raises(InvalidFilterError, match="must be a string"):
        client.search_registered_models(bad)
    with pytest.raises(InvalidInputError, match="must be a string"):
        client.search_model_versions(bad)


def test_a_page_token_only_fits_its_own_search(client: RegistryClient) -> None:
    for name in "abc":
        client.create_registered_model(name)
    token = client.search_registered_models(max_results=1).token
    assert token is not None
    assert [m.name for m in client.search_registered_models(max_results=1, page_token=token)] == [
        "b"
    ]
    with pytest.raises(InvalidFilterError, match="another search"):
        client.search_registered_models("name != 'a'", max_results=1, page_token=token)
    with pytest.raises(InvalidFilterError, match="page_token"):
        client.search_model_versions(page_token=token)


def test_order_by_on_tags_is_refused(client: RegistryClient) -> None:
    with pytest.raises(InvalidFilterError, match="order_by"):
        client.search_registered_models(order_by=["tags.k DESC"])
