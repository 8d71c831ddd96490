"""One runtime per framework behind :class:`vulcain.runtimes.base.Runtime`.

:func:`load_runtime` maps a framework name of :mod:`vulcain.frameworks` to its
implementation and imports the framework module only when a network of it is loaded, so
TensorFlow is never imported by a service that serves only Caffe or ONNX networks.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from vulcain.errors import ModelError
from vulcain.frameworks import CAFFE, ONNX, TENSORFLOW
from vulcain.runtimes.base import Runtime, TensorSpec

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
    return getattr(importlib.import_module(module_name), class_name)


def load_runtime(framework: str, folder: Path) -> Runtime:
    """Load the network whose uploaded files are in ``folder`` with ``framework``'s runtime.

    Raises :class:`vulcain.errors.ModelError` with a sentence when it cannot be loaded.
    """
    return runtime_class(framework).load(Path(folder))


__all__ = ["Runtime", "TensorSpec", "load_runtime", "runtime_class"]
