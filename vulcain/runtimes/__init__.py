"""One runtime per framework behind :class:`vulcain.runtimes.base.Runtime`.

:func:`load_runtime` maps a framework name of :mod:`vulcain.frameworks` to its
implementation and imports the framework module only when a network of it is loaded, so
TensorFlow is never imported by a service that serves only Caffe or ONNX networks.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from vulcain.errors import ModelError
from vulcain.frameworks import CAFFE, CONVERTED_FILE, ONNX, TENSORFLOW
from vulcain.runtimes.base import Runtime, TensorSpec

log = logging.getLogger(__name__)

_IMPLEMENTATIONS: dict[str, tuple[str, str]] = {
    CAFFE: ("vulcain.runtimes.caffe", "CaffeRuntime"),
    TENSORFLOW: ("vulcain.runtimes.tensorflow", "TensorFlowRuntime"),
    ONNX: ("vulcain.runtimes.onnx", "OnnxRuntime"),
}


def runtime_class(framework: str) -> type[Runtime]:
    """The :class:`Runtime` subclass serving ``framework`` (imports its module)."""
    try:
        module_name, class_name = _IMPLEMENTATIONS[framework]
    except KeyError:
        known = ", ".join(sorted(_IMPLEMENTATIONS))
        raise ModelError(f"Unknown framework {framework!r}: use one of {known}.") from None
    runtime: type[Runtime] = getattr(importlib.import_module(module_name), class_name)
    return runtime


def load_runtime(framework: str, folder: Path) -> Runtime:
    """Load the network whose uploaded files are in ``folder`` with ``framework``'s runtime.

    Raises :class:`vulcain.errors.ModelError` with a sentence when it cannot be loaded.
    """
    return runtime_class(framework).load(Path(folder))


def load_serving_runtime(framework: str, folder: Path, *, converted: bool = True) -> Runtime:
    """The runtime that serves the network of ``folder``: onnxruntime on the ONNX file its
    deployment converted and kept (:data:`~vulcain.frameworks.CONVERTED_FILE`) when there
    is one and ``converted`` allows it, else the framework's own runtime. A converted file
    that fails to load (it loaded when deployed) is logged and the reference serves."""
    folder = Path(folder)
    if converted and framework in (CAFFE, TENSORFLOW) and (folder / CONVERTED_FILE).is_file():
        from vulcain.runtimes.converted import ConvertedRuntime

        try:
            return ConvertedRuntime.load(folder)
        except ModelError as error:
            log.warning("the converted network in %s failed to load: %s", folder, error.message)
    return load_runtime(framework, folder)


__all__ = ["Runtime", "TensorSpec", "load_runtime", "load_serving_runtime", "runtime_class"]
