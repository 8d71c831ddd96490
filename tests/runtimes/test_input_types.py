"""A preprocessed float32 tensor converted to the type of the input it feeds: an integer
input gets values rounded to the nearest integer and saturated, never wrapped (the engine
path is checked in tests/inference/test_integer_inputs.py)."""

from __future__ import annotations

import numpy as np

from vulcain.runtimes._common import as_input_type


def test_integer_conversion_rounds_and_saturates():
    values = np.array([-300.0, -1.0, -0.5, 0.5, 1.5, 2.4, 254.6, 255.5, 1e9, np.nan], np.float32)
    assert as_input_type(values, np.uint8).tolist() == [0, 0, 0, 0, 2, 2, 255, 255, 255, 0]
    assert as_input_type(values, np.int8).tolist() == [-128, -1, 0, 0, 2, 2, 127, 127, 127, 0]
    assert as_input_type(values, np.int32).tolist()[:8] == [-300, -1, 0, 0, 2, 2, 255, 256]
    big = as_input_type(np.array([3e38, -3e38, np.inf], np.float32), np.int64)
    assert big.tolist() == [2**63 - 1024, -(2**63), 2**63 - 1024]
    assert as_input_type(values, np.float32).dtype == np.float32
