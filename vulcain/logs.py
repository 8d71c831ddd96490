"""Logging of a Vulcain process: plain text or one JSON object per line
(``VULCAIN_LOG_FORMAT``), every line about a request carrying its request id.

The request being served is a context variable set by the API's outermost middleware
(:class:`vulcain.api.observe.RequestObserver`), so any log line written while serving it
gets its id. Work that continues on other threads (a task's preparation, forward pass or
end) logs with the ids it was handed, through ``extra``.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any

FIELDS = ("request_id", "task_id", "network", "method", "route", "status", "duration_ms")
"""What a log line may say besides its message, when it concerns a request or a task."""


class RequestContext:
    """The request being served: its id, and what the handler learnt (the task it
    created, the network it used) for the access log line."""

    __slots__ = ("network", "request_id", "task_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.task_id: int | None = None
        self.network: str | None = None


CURRENT_REQUEST: ContextVar[RequestContext | None] = ContextVar(
    "vulcain_current_request", default=None
)


def current_request_id() -> str | None:
    """The id of the request being served on this thread of control, if any."""
    request = CURRENT_REQUEST.get()
    return request.request_id if request is not None else None


class RequestFields(logging.Filter):
    """Give every record the fields of :data:`FIELDS` (``None`` when unknown), taking
    those of the request being served when the record does not bring its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = CURRENT_REQUEST.get()
        for name in FIELDS:
            if not hasattr(record, name):
                value = getattr(request, name, None) if request is not None else None
                setattr(record, name, value)
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request fields that are
    known, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The level, the logger, the message, then the request fields that are known."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = [
            f"{name}={value}"
            for name in FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        if not known:
            return text
        head, newline, rest = text.partition("\n")
        return f"{head} [{' '.join(known)}]{newline}{rest}"


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the process (uvicorn's loggers included)."""
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestFields}},
        "formatters": {
            "text": {"()": TextFormatter},
            "json": {"()": JSONFormatter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
