"""The Celery application of a scale-out deployment: API replicas publish task ids to one
durable queue, ``vulcain worker`` processes consume it.

A message carries only a task id; the task row stays the single truth of status. Messages
are persistent in a durable queue (a broker restart keeps them), published with
confirmation on RabbitMQ, acknowledged only after the task ran (``acks_late``) and
requeued when the worker dies mid-task (``reject_on_worker_lost``). Each worker holds at
most ``concurrency`` unacknowledged messages (prefetch multiplier 1). Running a task again
after a redelivery writes nothing: the runner only writes a result while the task is
pending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from vulcain.config import Settings

RUN_TASK = "vulcain.run_task"
REDIS_VISIBILITY_TIMEOUT_S = 3600
"""On Redis, an unacknowledged task is delivered again after this long (RabbitMQ requeues
at once when the worker's connection drops)."""
RETRY_DELAY_MAX_S = 60
MAX_RETRIES = 20


def create_celery(settings: Settings) -> Celery:
    """The Celery app for ``settings.broker_url`` and the queue ``settings.task_queue``."""
    if not settings.broker_url:
        raise ValueError("VULCAIN_BROKER_URL is not set: there is no broker to connect to")
    app = Celery("vulcain", broker=settings.broker_url, set_as_current=False)
    exchange = Exchange(settings.task_queue, type="direct", durable=True)
    queue = Queue(settings.task_queue, exchange, routing_key=settings.task_queue, durable=True)
    transport_options: dict[str, Any] = {}
    if settings.broker_url.startswith(("amqp", "pyamqp")):
        transport_options["confirm_publish"] = True
    if settings.broker_url.startswith(("redis", "rediss")):
        transport_options["visibility_timeout"] = REDIS_VISIBILITY_TIMEOUT_S
    app.conf.update(
        task_queues=[queue],
        task_default_queue=settings.task_queue,
        task_default_exchange=settings.task_queue,
        task_default_routing_key=settings.task_queue,
        task_create_missing_queues=False,
        task_default_delivery_mode="persistent",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        # Threads cannot be cancelled: a task running when the connection drops runs to its
        # end (its message, never acknowledged, is delivered again and writes nothing).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options=transport_options,
        broker_pool_limit=32,
    )
    return app


def register_runner(app: Celery, run: Callable[[int], None]) -> None:
    """Make ``app``'s workers run each task id with ``run`` (blocking until its result is
    written). An exception (the database unreachable, ...) retries the task later."""

    @app.task(
        name=RUN_TASK,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        autoretry_for=(Exception,),
        retry_backoff=True,
        retry_backoff_max=RETRY_DELAY_MAX_S,
        max_retries=MAX_RETRIES,
    )
    def run_task(task_id: int) -> None:
        run(task_id)
