"""The serving runtime beside the reference: a Caffe network converted to ONNX as a
deployment converts it, measured raw like the reference (same tensors, same batch sizes),
and the resident memory each runtime takes for the network, each in a fresh process.

Memory is measured the way it settles in a server: the network is loaded and warmed up
once and closed (so the library's own start-up is not counted), freed heap pages returned
(``malloc_trim``), then loaded and warmed up again; the figure is the resident memory
gained, after the heap is trimmed again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _networks import BenchNetwork

from vulcain.accelerate.convert import convert
from vulcain.frameworks import CAFFE, CONVERTED_FILE
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import Runtime
from vulcain.runtimes.converted import ConvertedRuntime

_MEMORY_PROBE = """
import json, sys
from pathlib import Path
import numpy as np
from vulcain.inference.heap import trim_heap
from vulcain.runtimes import load_serving_runtime
framework, folder, converted, name, shape = sys.argv[1:6]
shape = tuple(json.loads(shape))
feeds = {name: np.zeros(shape, np.float32)}
def resident():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096
def load_and_warm():
    runtime = load_serving_runtime(framework, Path(folder), converted=converted == "1")
    runtime.forward(feeds, runtime.final_outputs())
    return runtime
load_and_warm().close()
trim_heap()
before = resident()
runtime = load_and_warm()
trim_heap()
print(json.dumps({"engine": runtime.engine, "bytes": resident() - before}))
"""


def network_folder(network: BenchNetwork) -> Path:
    """The network's files under their upload names, with its converted file beside them."""
    folder = Path(tempfile.mkdtemp(prefix="vulcain-bench-converted-"))
    for name, path in network.files.items():
        shutil.copyfile(path, folder / name)
    reference = load_runtime(CAFFE, folder)
    try:
        width, height = network.target_size
        feeds = {network.input_name: np.zeros((1, 3, height, width), np.float32)}
        convert(CAFFE, folder, reference, feeds, variable_sizes=False).save(folder / CONVERTED_FILE)
    finally:
        reference.close()
    return folder


def converted_runtime(folder: Path) -> Runtime:
    return ConvertedRuntime.load(folder)


def resident_mb(network: BenchNetwork, folder: Path) -> dict[str, float]:
    """The resident memory of the network on each runtime (fresh processes)."""
    width, height = network.target_size
    shape = json.dumps([1, 3, height, width])
    found = {}
    for converted in ("0", "1"):
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, CAFFE, str(folder), converted,
             network.input_name, shape],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        probe = json.loads(done.stdout.strip().splitlines()[-1])
        found[probe["engine"]] = round(probe["bytes"] / 2**20, 1)
    return found


def print_runtimes(console: object, results: dict) -> None:
    """Two lines: the serving runtime raw against the reference, memory of each."""
    serving = results.get("serving_runtime")
    if not serving:
        return
    raw, reference = serving["raw"], results["raw"]
    console.print(
        f"serving runtime ({serving['engine']}, the converted network): best "
        f"{raw['best_images_per_s']:.4g} images/s at batch {raw['best_batch_size']}, single "
        f"image {raw['single_latency_ms']:.3g} ms; "
        f"{raw['best_images_per_s'] / reference['best_images_per_s']:.2f}x the reference "
        f"runtime's best ({reference['best_images_per_s']:.4g})"
    )
    memory = serving["resident_memory_mb"]
    weights = results["model"]["weight_file_mb"]
    console.print(
        "resident memory of the network (fresh process, after warm-up): "
        + ", ".join(f"{engine} {mb:.4g} MB ({mb / weights:.2f}x)" for engine, mb in memory.items())
        + f" for {weights:.4g} MB of weights; deployment chose "
        f"{serving['deployment'].get('runtime', '?')}"
    )
