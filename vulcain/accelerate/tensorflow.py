"""A TensorFlow 1.x SavedModel as an ONNX model, converted by tf2onnx (pinned in
pyproject.toml: 1.17.0 is the version whose conversions were measured against TensorFlow's
own tensors).

tf2onnx runs in a child process: it imports and configures TensorFlow, and a large graph
takes it seconds and hundreds of megabytes, none of which the serving process should keep.
Its graph inputs and outputs keep TensorFlow's tensor names (``data:0``), and so do many
intermediate tensors; some of those it lays out differently (NCHW for NHWC), so the
deployment compares every shared name before serving it from onnxruntime.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import onnx

from vulcain.accelerate._graph import OPSET, NoOnnxForm
from vulcain.runtimes.saved_model import (
    model_file,
    read_saved_model,
    serving_meta_graph,
    staged_export,
    variables_files,
)

TIMEOUT_SECONDS = 900
_TENSOR = re.compile(r"^(?P<op>.+):(?P<index>\d+)$")


def tensor_name(name: str) -> str:
    """``op`` means ``op:0``, as in Vulcain's TensorFlow runtime."""
    return name if _TENSOR.match(name) else f"{name}:0"


def convert_tensorflow(
    folder: Path, inputs: Sequence[str], outputs: Sequence[str]
) -> onnx.ModelProto:
    """The SavedModel of ``folder`` from the tensors ``inputs`` to ``outputs``."""
    model = model_file(folder)
    variables = variables_files(folder, serving_meta_graph(read_saved_model(model)))
    with staged_export(model, variables) as export:
        target = export / "converted.onnx"
        command = [
            sys.executable,
            "-m",
            "tf2onnx.convert",
            "--saved-model",
            str(export),
            "--tag",
            "serve",
            "--opset",
            str(OPSET),
            "--inputs",
            ",".join(tensor_name(name) for name in inputs),
            "--outputs",
            ",".join(tensor_name(name) for name in outputs),
            "--output",
            str(target),
        ]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                env=environment,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NoOnnxForm(f"tf2onnx did not finish within {TIMEOUT_SECONDS} s") from None
        if done.returncode != 0 or not target.is_file():
            raise NoOnnxForm(f"tf2onnx cannot convert it: {_last_error(done.stderr)}")
        return onnx.load(str(target))


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no message"])[-1][:400]


def shared_names(model: onnx.ModelProto, known: Sequence[str]) -> dict[str, str]:
    """The reference names (``op`` and ``op:N``) whose tensor the ONNX graph holds under
    the same name."""
    values = {name for node in model.graph.node for name in node.output if name}
    values |= {item.name for item in model.graph.output}
    known_set = set(known)
    names: dict[str, str] = {}
    for value in values:
        match = _TENSOR.match(value)
        if match is None or value not in known_set:
            continue
        names[value] = value
        if match.group("index") == "0" and match.group("op") in known_set:
            names[match.group("op")] = value
    return names
