"""Which files each framework needs: plain data, shared by the API and the runtimes."""

from __future__ import annotations

import re
from dataclasses import dataclass

CAFFE = "nv-caffe-0.x-mod"
TENSORFLOW = "tensorflow-1.x"
ONNX = "onnx"

CONVERTED_FILE = "converted.onnx"
"""The file a deployment adds to a Caffe or TensorFlow network when its conversion to ONNX
gave the reference runtime's tensors: kept with the uploaded files (never one a user may
upload for these frameworks), so any process loading the network serves it the same way."""


@dataclass(frozen=True)
class FileRules:
    """``required`` lists groups of names: each group needs at least one of its names."""

    required: tuple[tuple[str, ...], ...]
    optional: re.Pattern[str]

    def missing(self, names: set[str]) -> list[str]:
        """Sentences naming what is missing from ``names`` (empty when complete)."""
        return [" or ".join(group) for group in self.required if not names.intersection(group)]

    def allows(self, name: str) -> bool:
        return any(name in group for group in self.required) or bool(self.optional.fullmatch(name))


_MEAN_FILES = r".+\.(binaryproto|npy)"

FRAMEWORKS: dict[str, FileRules] = {
    CAFFE: FileRules(
        required=(("deploy.prototxt",), ("snapshot.caffemodel",)),
        optional=re.compile(_MEAN_FILES),
    ),
    TENSORFLOW: FileRules(
        required=(("saved_model.pb", "saved_model.pbtxt"),),
        optional=re.compile(rf"variables\.index|variables\.data-\d{{5}}-of-\d{{5}}|{_MEAN_FILES}"),
    ),
    ONNX: FileRules(required=(("model.onnx",),), optional=re.compile(_MEAN_FILES)),
}
