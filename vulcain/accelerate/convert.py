"""A loaded Caffe or TensorFlow network converted to an ONNX file that
:class:`~vulcain.runtimes.converted.ConvertedRuntime` serves under the reference's names.

:class:`NoOnnxForm` (the refusal every converter raises) is public here, with the function
that raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from vulcain.accelerate._graph import NoOnnxForm
from vulcain.frameworks import CAFFE, TENSORFLOW
from vulcain.runtimes.base import Runtime
from vulcain.runtimes.converted import describe

__all__ = ["Converted", "NoOnnxForm", "convert"]


@dataclass
class Converted:
    """A converted network, not yet checked."""

    model: onnx.ModelProto
    framework: str
    names: dict[str, str]
    """Each reference name the graph answers for, to its tensor."""
    feeds: dict[str, str]
    final: list[str]

    def save(self, path: Path, names: Mapping[str, str] | None = None) -> None:
        """Write the model with the names it serves (all, or ``names``) to ``path``."""
        kept = dict(self.names if names is None else names)
        describe(
            self.model, framework=self.framework, names=kept, feeds=self.feeds, final=self.final
        )
        onnx.save(self.model, str(path))


def convert(
    framework: str,
    folder: Path,
    reference: Runtime,
    feeds: Mapping[str, np.ndarray],
    *,
    variable_sizes: bool,
) -> Converted:
    """Convert the network of ``folder`` for inputs shaped like ``feeds`` (their batch
    may vary; their other sizes too when ``variable_sizes``, which Caffe's conversion
    cannot follow). Raise :class:`NoOnnxForm` with the reason it cannot be."""
    final = reference.final_outputs()
    known = reference.outputs()
    if framework == CAFFE:
        if variable_sizes:
            raise NoOnnxForm(
                "its preprocessing resizes to the network's own size (NETWORK), so input "
                "sizes vary while a converted Caffe network has fixed sizes"
            )
        from vulcain.accelerate.caffe import convert_caffe

        conversion = convert_caffe(
            (folder / "deploy.prototxt").read_text(encoding="utf-8"),
            (folder / "snapshot.caffemodel").read_bytes(),
            {name: tuple(value.shape[1:]) for name, value in feeds.items()},
            final,
        )
        missing = [name for name in known if name not in conversion.names]
        if missing:
            raise NoOnnxForm(f"`{missing[0]}` has no counterpart in the converted network")
        names = {name: conversion.names[name] for name in known}
        return Converted(conversion.model, framework, names, conversion.inputs, final)
    if framework == TENSORFLOW:
        from vulcain.accelerate.tensorflow import convert_tensorflow, shared_names, tensor_name

        model = convert_tensorflow(folder, list(feeds), final)
        names = shared_names(model, known)
        missing = [name for name in final if name not in names]
        if missing:
            raise NoOnnxForm(f"the output `{missing[0]}` is not an output of tf2onnx's graph")
        inputs = {item.name for item in model.graph.input}
        feed_names = {name: tensor_name(name) for name in feeds}
        feed_names |= {tensor_name(name): tensor_name(name) for name in feeds}
        absent = [name for name, tensor in feed_names.items() if tensor not in inputs]
        if absent:
            raise NoOnnxForm(f"the input `{absent[0]}` is not an input of tf2onnx's graph")
        return Converted(model, framework, names, feed_names, final)
    raise NoOnnxForm(f"networks of framework {framework} are not converted")
