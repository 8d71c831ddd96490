"""The official ``deepomatic-api`` clients, each in its own virtualenv, and the flow they run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.client.identity import IDENTITY_PREPROCESSING
from tests.servers import VulcainServer

VERSIONS = ("0.9.4", "1.0.0")
COMPAT_VENVS = Path(sys.prefix) / "compat"
"""``.venv/compat/<version>``: built once, reused by later runs, rebuilt when broken."""
FLOW_SCRIPT = Path(__file__).with_name("deepomatic_flow.py")
RECOGNITION_SCRIPT = Path(__file__).with_name("recognition_flow.py")
BBOX = {"xmin": 0.25, "ymin": 0.1, "xmax": 0.8, "ymax": 0.95}


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import deepomatic.api.version as v; print(v.__version__)"],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def compat_python(version: str) -> Path:
    """The python of a virtualenv holding ``deepomatic-api==version``, built if missing
    (same interpreter as this one, packages from PyPI through pip)."""
    venv = COMPAT_VENVS / version
    python = venv / "bin" / "python"
    if _installed_version(python) == version:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", f"deepomatic-api=={version}"],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"cannot build {venv}: {' '.join(command)}\n{done.stdout}{done.stderr}")
    assert _installed_version(python) == version
    return python


def run_flow(
    version: str, server: VulcainServer, inputs: dict[str, Any], script: Path = FLOW_SCRIPT
) -> dict[str, Any]:
    """Run ``script`` (tests/compat/deepomatic_flow.py) with that version's client; return
    its results."""
    tag = "v" + version.replace(".", "")
    if script != FLOW_SCRIPT:
        tag += "-" + script.stem
    config = {
        "url": server.url,
        "api_key": server.api_key,
        "other_api_key": server.create_account(f"compat-other-{tag}"),
        "run_id": f"compat-{tag}",
        "slug": f"identity-{tag}",
        "model_path": str(inputs["model_path"]),
        "classifier_path": str(inputs["classifier_path"]),
        "label_names": list(inputs["label_names"]),
        "image_path": str(inputs["image_path"]),
        "image_url": inputs["image_url"],
        "bbox": BBOX,
        "preprocessing": IDENTITY_PREPROCESSING,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPOMATIC_", "VULCAIN_"))}
    done = subprocess.run(
        [str(compat_python(version)), str(script), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, f"flow crashed:\n{done.stderr}\nserver log:\n{server.log()}"
    return json.loads(done.stdout.strip().splitlines()[-1])
