"""Converting a Caffe network written by a test and comparing it with OpenCV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vulcain.accelerate.compare import Agreement
from vulcain.accelerate.convert import convert
from vulcain.frameworks import CAFFE, CONVERTED_FILE
from vulcain.runtimes import load_runtime
from vulcain.runtimes.converted import ConvertedRuntime


def converted_runtime(folder: Path, input_shape: tuple[int, ...]) -> ConvertedRuntime:
    """The network of ``folder`` converted for inputs of ``input_shape`` (no batch)."""
    reference = load_runtime(CAFFE, folder)
    try:
        feeds = {"data": np.zeros((1, *input_shape), np.float32)}
        converted = convert(CAFFE, folder, reference, feeds, variable_sizes=False)
    finally:
        reference.close()
    converted.save(folder / CONVERTED_FILE)
    return ConvertedRuntime.load(folder)


def assert_same_tensors(
    folder: Path,
    input_shape: tuple[int, ...],
    *,
    batch: int = 2,
    scale: float = 1.0,
    seed: int = 0,
) -> Agreement:
    """Every name OpenCV answers for, on random inputs, agrees within the tolerance
    (raises :class:`~vulcain.accelerate.compare.Disagreement` otherwise); the final
    outputs alone too (OpenCV's fused path)."""
    runtime = converted_runtime(folder, input_shape)
    every_name, final_only = load_runtime(CAFFE, folder), load_runtime(CAFFE, folder)
    try:
        x = np.random.default_rng(seed).normal(0, scale, (batch, *input_shape))
        feeds = {"data": x.astype(np.float32)}
        names = every_name.outputs()
        assert set(names) <= set(runtime.tensor_names())
        agreement = Agreement()
        agreement.check(every_name.forward(feeds, names), runtime.forward(feeds, names))
        final = final_only.final_outputs()
        agreement.check(final_only.forward(feeds, final), runtime.forward(feeds, final))
        return agreement
    finally:
        runtime.close()
        every_name.close()
        final_only.close()
