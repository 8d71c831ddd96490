"""One virtualenv per peer server under ``.venv/peers/<name>``: built once, reused, rebuilt
when broken (the approach of tests/compat/official_client.py::compat_python).

Each peer gets its own environment because MLServer and Mosec pin versions of FastAPI,
pydantic and uvicorn that must not replace Vulcain's own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PEER_VENVS = Path(sys.prefix) / "peers"
COMMON = ("opencv-python-headless<5", "numpy", "onnxruntime")
PEERS = {
    "mlserver": ("mlserver", "1.7.1"),
    "mosec": ("mosec", "0.9.8"),
}
"""Peer name: (distribution, pinned version)."""
EXTRA = {"mlserver": ("uvloop<0.22",)}
"""MLServer 1.7.1's worker processes die at start with uvloop 0.22 or later (its
``asyncio.get_event_loop()`` outside a loop raises; SeldonIO/MLServer#2286)."""
STAMP = "vulcain-requirements.txt"
"""Written into the venv once everything installed: the requirements it was built with."""
BUILD_TIMEOUT_S = 1800


def _installed_version(python: Path, distribution: str) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, importlib.metadata as m, cv2, numpy, onnxruntime; "
            f"print(m.version({distribution!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def peer_python(name: str, log=print) -> Path:
    """The python of the virtualenv of peer ``name``, built if missing or broken."""
    distribution, version = PEERS[name]
    venv = PEER_VENVS / name
    python = venv / "bin" / "python"
    requirements = [f"{distribution}=={version}", *COMMON, *EXTRA.get(name, ())]
    stamp = venv / STAMP
    built_with = stamp.read_text().splitlines() if stamp.exists() else None
    if built_with == requirements and _installed_version(python, distribution) == version:
        return python
    log(f"building {venv} ({distribution}=={version}; takes minutes, once)")
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(
                f"cannot build {venv}: {' '.join(command)}\n{done.stdout}{done.stderr}"
            )
    installed = _installed_version(python, distribution)
    if installed != version:
        raise RuntimeError(f"{venv} holds {distribution} {installed}, not {version}")
    stamp.write_text("\n".join(requirements) + "\n")
    return python


if __name__ == "__main__":
    for peer in sys.argv[1:] or list(PEERS):
        print(peer, peer_python(peer))
