"""``GET /metrics``: the process's Prometheus metrics, in the text exposition format."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vulcain.metrics import Metrics


def metrics_route(metrics: Metrics) -> Route:
    """The route serving ``metrics``; it takes no API key (scrapers have none)."""

    async def scrape(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", scrape, methods=["GET"])
