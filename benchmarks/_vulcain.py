"""Vulcain's side of the serving benchmarks: deploy a network through the Python client,
and the load generator's scenario config for it."""

from __future__ import annotations

from _networks import BenchNetwork
from _server import ServerProcess

from vulcain.client import Client

DEPLOY_TIMEOUT_S = 600.0
MODES = ("two_request", "one_request")
"""``two_request``: POST the inference, then GET the task with ``?wait`` (the official
protocol). ``one_request``: POST ``?wait`` answers the finished task."""


V2 = "v2"
"""``v2``: ``POST /v2/models/{id}/infer``, the Open Inference Protocol, sent exactly what
MLServer is sent (JSON, one BYTES input holding the base64 JPEG), plus the API key."""


def deploy(client: Client, network: BenchNetwork, name: str) -> int:
    """Upload ``network`` with its preprocessing and wait until it is deployed."""
    created = client.Network.create(
        name=name,
        framework=network.framework,
        preprocessing=network.preprocessing,
        files=network.files,
        progress=False,
    )
    created.deployment().wait(timeout=DEPLOY_TIMEOUT_S)
    return created.id


def scenario(
    server: ServerProcess, network_id: int, output: str, mode: str = "two_request", body="json"
) -> dict:
    """The load generator's config for inferences on ``network_id`` (see _scenarios.py)."""
    return {
        "kind": "vulcain",
        "url": server.url,
        "api_key": server.api_key,
        "network_id": network_id,
        "output": output,
        "mode": mode,
        "body": body,
    }


def v2_scenario(server: ServerProcess, network_id: int, network: BenchNetwork) -> dict:
    """The load generator's config for ``/v2`` inferences: MLServer's scenario on Vulcain."""
    return {
        "kind": "mlserver",
        "url": server.url,
        "model": str(network_id),
        "input": network.input_name,
        "output": network.output,
        "headers": {"X-API-KEY": server.api_key},
    }


def health_scenario(server: ServerProcess) -> dict:
    """``GET /health``: near free, so its rate is the load generator's ceiling."""
    return {"kind": "health", "url": server.url}
