"""The service layer: what the API, the CLI and workers call. No HTTP here.

:class:`Services` wires every part from one :class:`~vulcain.config.Settings` by
constructor arguments; build one per process, call :meth:`Services.start`, then use its
``accounts``, ``networks`` and ``tasks``.

The names below are imported on first use, so that a command needing one piece (the CLI's
``accounts create`` or ``networks publish``) does not load the engine and OpenCV.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vulcain.services._wiring import Services
    from vulcain.services.accounts import AccountService
    from vulcain.services.networks import NetworkService
    from vulcain.services.recognition import RecognitionService
    from vulcain.services.tasks import TaskService

__all__ = ["AccountService", "NetworkService", "RecognitionService", "Services", "TaskService"]

_MODULES = {
    "AccountService": "vulcain.services.accounts",
    "NetworkService": "vulcain.services.networks",
    "RecognitionService": "vulcain.services.recognition",
    "Services": "vulcain.services._wiring",
    "TaskService": "vulcain.services.tasks",
}


def __getattr__(name: str) -> object:
    if name not in _MODULES:
        raise AttributeError(f"module 'vulcain.services' has no attribute {name!r}")
    return getattr(import_module(_MODULES[name]), name)
