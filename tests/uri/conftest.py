from tests.runs._fixtures import _clean_fluent_state, client, local_shelf, shelf_obj  # noqa: F401
