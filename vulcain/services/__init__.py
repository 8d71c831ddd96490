"""The service layer: what the API, the CLI and workers call. No HTTP here.

:class:`Services` wires every part from one :class:`~vulcain.config.Settings` by
constructor arguments; build one per process, call :meth:`Services.start`, then use its
``accounts``, ``networks`` and ``tasks``.
"""

from __future__ import annotations

from vulcain.services._wiring import Services
from vulcain.services.accounts import AccountService
from vulcain.services.networks import NetworkService
from vulcain.services.tasks import TaskService

__all__ = ["AccountService", "NetworkService", "Services", "TaskService"]
