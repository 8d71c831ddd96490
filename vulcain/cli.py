"""The ``vulcain`` command: run the server and administer the database.

Client-side commands (``networks create|list|show|rm``, ``infer``) live in
:mod:`vulcain.client.cli` and attach themselves to :data:`main`.
"""

from __future__ import annotations

import gc
import json
import threading
from types import FrameType
from typing import Any

import click

from vulcain.config import Settings
from vulcain.db.database import Database


@click.group()
def main() -> None:
    """Vulcain: deploy trained neural networks and serve them over HTTP.

    Settings come from VULCAIN_* environment variables or a .env file."""


@main.command()
@click.option("--host", help="Address to listen on [default: VULCAIN_HOST or 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [default: VULCAIN_PORT or 8000].")
def serve(host: str | None, port: int | None) -> None:
    """Run the HTTP server (migrations and workers start with it).

    SIGTERM or Ctrl-C stops it gracefully: no new connection is accepted, long-polls answer
    at once, requests in progress end, forward passes running finish and their results
    are written; inferences not started yet stay pending and run at the next start."""
    import uvicorn

    from vulcain.api.app import create_app
    from vulcain.logs import logging_config

    overrides: dict[str, Any] = {
        key: value for key, value in {"host": host, "port": port}.items() if value is not None
    }
    settings = Settings(**overrides)
    app = create_app(settings)
    services = app.state.services

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # From a signal handler: on a thread of its own, since it takes locks the
            # interrupted code may hold.
            threading.Thread(target=services.stop_waiting, daemon=True).start()
            super().handle_exit(sig, frame)

    _tune_garbage_collector()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # the API logs its own access lines, with their request ids
        log_config=logging_config(settings.log_format),
    )
    Server(config).run()


GC_YOUNG_THRESHOLD = 50_000


def _tune_garbage_collector() -> None:
    """Every request allocates a few hundred short-lived objects, so with Python's default
    thresholds the cycle collector ran every couple of requests, a tenth of a near-free
    inference's CPU. Collect the youngest generation every 50,000 allocations instead of
    700, the older ones less often, and leave what start-up created (every imported
    module) out of all collections."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)
    gc.collect()
    gc.freeze()


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Task threads [default: VULCAIN_WORKER_CONCURRENCY, or max(VULCAIN_WORKERS, 2) "
    "* VULCAIN_MAX_BATCH_SIZE so the batcher sees enough requests at once].",
)
@click.option("--loglevel", default="INFO", show_default=True, help="Celery log level.")
def worker(concurrency: int | None, loglevel: str) -> None:
    """Run tasks from the broker (VULCAIN_BROKER_URL) until stopped: a scale-out worker."""
    from vulcain.tasks.worker import run_worker

    settings = Settings()
    if not settings.broker_url:
        raise click.ClickException(
            "VULCAIN_BROKER_URL is not set: a worker takes its tasks from a broker "
            "(amqp://... or redis://...). Without one, vulcain serve runs tasks itself."
        )
    _tune_garbage_collector()
    run_worker(settings, concurrency=concurrency, loglevel=loglevel)


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    database = Database(Settings().database_url)
    try:
        database.migrate()
    finally:
        database.close()
    click.echo("database is up to date")


@main.group()
def accounts() -> None:
    """Manage accounts."""


@accounts.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="The account may publish networks.")
def create_account(name: str, admin: bool) -> None:
    """Create an account and print it with its API key (shown only this once), as JSON."""
    from vulcain.services.accounts import AccountService

    database = Database(Settings().database_url)
    try:
        database.migrate()
        account, api_key = AccountService(database).create(name, admin=admin)
    finally:
        database.close()
    record = {"id": account.id, "name": account.name, "app_id": account.app_id}
    click.echo(json.dumps({**record, "api_key": api_key}))


@main.group()
def networks() -> None:
    """Manage networks."""


@networks.command("publish")
@click.argument("network_id", type=int)
@click.argument("slug")
def publish(network_id: int, slug: str) -> None:
    """Publish network NETWORK_ID under the public id SLUG, as an admin would."""
    from vulcain.errors import VulcainError
    from vulcain.services.publishing import publish_network

    database = Database(Settings().database_url)
    try:
        database.migrate()
        network = publish_network(database, network_id, slug)
    except VulcainError as error:
        raise click.ClickException(error.message) from None
    finally:
        database.close()
    click.echo(network.model_dump_json())


def _register_client_commands() -> None:
    from vulcain.client.cli import register

    register(main)


_register_client_commands()
