"""What a process is built from: the engine's settings, the default thread count, and what
a command that only touches the database loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vulcain.config import Settings
from vulcain.inference.settings import EngineSettings


def test_engine_settings_follow_the_process_settings(tmp_path: Path):
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        workers=3,
        max_models=2,
        fetch_allow_hosts=" a.example, 10.0.0.0/8 ,",
        fetch_max_bytes=1234,
        fetch_timeout_seconds=2.5,
        max_batch_size=4,
        max_queue_delay_ms=1.5,
        max_image_pixels=5000,
    )
    engine = EngineSettings.from_settings(settings)
    assert engine.work_dir == tmp_path.absolute() / "engine"
    assert (engine.max_models, engine.fetch.max_bytes, engine.fetch.timeout_s) == (2, 1234, 2.5)
    assert engine.fetch.allow_hosts == ("a.example", "10.0.0.0/8")
    assert engine.fetch.max_pixels == 5000
    assert (engine.max_batch_size, engine.max_queue_delay_ms) == (4, 1.5)
    assert engine.preprocess_threads == 3


def test_default_workers_are_the_cores_this_process_may_use():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.workers == len(os.sched_getaffinity(0))
    limited = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", _PRINT_WORKERS],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "VULCAIN_WORKERS"},
    )
    assert limited.stdout.strip() == "1"


_PRINT_WORKERS = "from vulcain.config import Settings; print(Settings(_env_file=None).workers)"

_MIGRATE_AND_LIST_MODULES = """
import sys
from vulcain.cli import main
main(["migrate"], standalone_mode=False)
print(" ".join(sorted(sys.modules)))
"""


def test_migrate_loads_neither_opencv_nor_the_engine(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VULCAIN_")}
    env["VULCAIN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'vulcain.db'}"
    result = subprocess.run(
        [sys.executable, "-c", _MIGRATE_AND_LIST_MODULES],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    modules = set(result.stdout.split())
    assert "vulcain.db.migrate" in modules
    assert not {name for name in modules if name == "cv2" or name.startswith("vulcain.inference")}
