"""search_runs: NOT LIKE, page tokens and run_view_type (all implemented, none ignored)."""

from __future__ import annotations

from typing import Any

import pytest

import modelshelf.runs as runs
from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidFilterError, InvalidInputError
from modelshelf.runs import RunsClient
from modelshelf.runs._search import ViewType


@pytest.fixture
def five(local_shelf: Shelf) -> tuple[RunsClient, list[str]]:
    client = RunsClient(local_shelf)
    ids = []
    for i in range(5):
        run = client.create_run(experiment_name="e", run_name=f"r{i}", start_time=1000 + i % 3)
        client.set_tag(run.info.run_id, "kind", "alpha" if i % 2 else "beta")
        ids.append(run.info.run_id)
    return client, ids


def test_not_like(five: tuple[RunsClient, list[str]]) -> None:
    client, ids = five
    found = client.search_runs(filter_string="tags.kind NOT LIKE 'al%'")
    assert sorted(r.info.run_id for r in found) == sorted(ids[0::2])
    found = client.search_runs(filter_string="run_name NOT ILIKE 'R1' and tags.kind = 'alpha'")
    assert [r.info.run_id for r in found] == [ids[3]]


def test_pages_cover_every_run_once_in_the_same_order(five: tuple[RunsClient, list[str]]) -> None:
    client, ids = five
    everything = [r.info.run_id for r in client.search_runs()]
    assert sorted(everything) == sorted(ids)
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = client.search_runs(max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [r.info.run_id for r in page]
        token = page.token
        if token is None:
            break
    assert seen == everything  # start times tie: the order is still total (run id last)
    assert client.search_runs(max_results=5).token is None


def test_a_page_token_only_fits_its_own_search(five: tuple[RunsClient, list[str]]) -> None:
    client, _ = five
    token = client.search_runs(max_results=1).token
    assert token is not None
    with pytest.raises(InvalidFilterError, match="another search"):
        client.search_runs(max_results=1, page_token=token, filter_string="tags.kind = 'beta'")
    with pytest.raises(InvalidInputError, match="page_token"):
        client.search_runs(page_token="not-a-token")


@pytest.mark.parametrize(
    ("view", "count"),
    [
        (None, 5),
        (ViewType.ACTIVE_ONLY, 5),
        (ViewType.ALL, 5),
        ("ALL", 5),
        (ViewType.DELETED_ONLY, 0),  # runs on a shelf are never deleted
        ("deleted_only", 0),
    ],
)
def test_run_view_type(five: tuple[RunsClient, list[str]], view: Any, count: int) -> None:
    client, _ = five
    assert len(client.search_runs(run_view_type=view)) == count
    assert (
        len(runs.search_runs(experiment_names=["e"], run_view_type=view, output_format="list"))
        == count
    )


@pytest.mark.parametrize("view", [0, 4, True, "SOME", 1.0])
def test_bad_run_view_type_is_a_typed_error(five: tuple[RunsClient, list[str]], view: Any) -> None:
    client, _ = five
    with pytest.raises(InvalidInputError, match="run_view_type"):
        client.search_runs(run_view_type=view)


@pytest.mark.parametrize("bad", [3, b"status = 'x'", ["status = 'x'"]])
def test_non_string_filter_is_a_typed_error(five: tuple[RunsClient, list[str]], bad: Any) -> None:
    client, _ = five
    with pytest.raises(InvalidFilterError, match="must be a string"):
        client.search_runs(filter_string=bad)
