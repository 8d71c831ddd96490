"""Settings for tests, built the way a process builds them: every value a test does not
set is the default written in :class:`vulcain.config.Settings`."""

from __future__ import annotations

from pathlib import Path

from vulcain.config import Settings
from vulcain.inference.settings import EngineSettings
from vulcain.inference.sources import FetchPolicy


def process_settings(**changes: object) -> Settings:
    """:class:`Settings` with ``changes``, ignoring any ``.env`` file."""
    return Settings(_env_file=None, **changes)  # type: ignore[call-arg, arg-type]


def engine_settings(data_dir: Path, **changes: object) -> EngineSettings:
    """The engine settings of a process whose data folder is ``data_dir`` (the engine works
    in ``data_dir / "engine"``)."""
    return EngineSettings.from_settings(process_settings(data_dir=data_dir, **changes))


def fetch_policy(**changes: object) -> FetchPolicy:
    """The image source limits of a process with these settings (``fetch_allow_hosts=``,
    ``fetch_max_bytes=``, ...)."""
    return FetchPolicy.from_settings(process_settings(**changes))
