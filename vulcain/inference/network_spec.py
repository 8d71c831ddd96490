"""What the engine knows of a network: its framework, preprocessing and files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vulcain.schemas import Preprocessing


@dataclass(frozen=True)
class NetworkSpec:
    """A network as the engine sees it. ``files`` maps each uploaded file name to the
    sha256 key of its blob; the engine lays them out in a folder to load the runtime."""

    id: int
    framework: str
    preprocessing: Preprocessing
    files: Mapping[str, str]
