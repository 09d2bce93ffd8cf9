"""Run in spawned child processes: each is a separate MLflow program using the plugin."""

from __future__ import annotations

import time


def register_versions(
    tracking_uri: str, registry_uri: str, name: str, source: str, count: int, start_at: float
) -> list[int]:
    """Register ``count`` versions of ``name`` through MLflow's client; return their numbers."""
    import mlflow

    import modelshelf.mlflow_plugin

    modelshelf.mlflow_plugin.register()
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    client.get_registered_model(name)  # warm up before the start line
    time.sleep(max(0.0, start_at - time.time()))
    return [int(client.create_model_version(name, source).version) for _ in range(count)]
