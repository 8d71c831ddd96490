from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from vulcain.config import Settings
from vulcain.schemas import Preprocessing


def preprocessing(mean_file: str | None = None, inputs: int = 1) -> Preprocessing:
    image = {"target_size": "8x6", "resize_type": "SQUASH", "mean_file": mean_file}
    return Preprocessing.model_validate(
        {"inputs": [{"tensor_name": f"in{index}", "image": image} for index in range(inputs)]}
    )


def unique_files(*names: str) -> dict[str, BinaryIO]:
    """Files with random content, so no other test's network shares their blobs."""
    return {name: io.BytesIO(os.urandom(64)) for name in names}


def open_files(paths: dict[str, Path]) -> dict[str, BinaryIO]:
    return {name: path.open("rb") for name, path in paths.items()}


def stored_blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")
