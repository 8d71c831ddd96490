"""A Caffe or TensorFlow network served by onnxruntime from the ONNX file its deployment
converted and checked against the reference runtime (:data:`~vulcain.frameworks.CONVERTED_FILE`).

The file's metadata says which network it stands for: the reference framework, every name
the reference runtime answers for with its tensor in the graph, the input names with
their graph inputs, and the final outputs. So any process loads it alone, with nothing
converted again. One session serves concurrent calls (no copies, unlike OpenCV's Net).

A name the graph does not hold (TensorFlow exposes every tensor of its graph, not all of
which survive conversion) is answered by the reference runtime, loaded from the same
folder the first time such a name is asked for: every name keeps working, each answered
by a runtime whose tensors were compared, or by the reference itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx

from vulcain.errors import ModelError
from vulcain.frameworks import CONVERTED_FILE
from vulcain.runtimes._common import require_file
from vulcain.runtimes.base import Runtime
from vulcain.runtimes.onnx import OnnxRuntime, open_session, read_model

_FRAMEWORK = "vulcain.framework"
_NAMES = "vulcain.names"
_FEEDS = "vulcain.feeds"
_FINAL = "vulcain.final"


def describe(
    model: onnx.ModelProto,
    *,
    framework: str,
    names: Mapping[str, str],
    feeds: Mapping[str, str],
    final: Sequence[str],
) -> None:
    """Write into ``model`` what :meth:`ConvertedRuntime.load` needs to serve it."""
    entries = {
        _FRAMEWORK: framework,
        _NAMES: json.dumps(dict(names)),
        _FEEDS: json.dumps(dict(feeds)),
        _FINAL: json.dumps(list(final)),
    }
    kept = [entry for entry in model.metadata_props if entry.key not in entries]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)


class ConvertedRuntime(OnnxRuntime):
    """onnxruntime on a converted network, under the reference runtime's names."""

    def __init__(
        self,
        path: Path,
        names: Mapping[str, str],
        final: Sequence[str],
        feeds: Mapping[str, str],
        framework: str,
    ) -> None:
        super().__init__(path, open_session(path, path.name), names, final, feeds)
        self.framework = framework
        self._folder = path.parent
        self._reference: Runtime | None = None
        self._reference_lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path) -> ConvertedRuntime:
        return cls.load_file(require_file(folder, CONVERTED_FILE, "the converted network"))

    @classmethod
    def load_file(cls, path: Path) -> ConvertedRuntime:
        """The converted network of ``path``; its reference runtime, when needed, is
        loaded from the files beside it."""
        model = read_model(path)
        metadata = {entry.key: entry.value for entry in model.metadata_props}
        del model
        try:
            framework = metadata[_FRAMEWORK]
            names = json.loads(metadata[_NAMES])
            feeds = json.loads(metadata[_FEEDS])
            final = json.loads(metadata[_FINAL])
        except (KeyError, ValueError):
            raise ModelError(f"{path.name} does not say which network it stands for.") from None
        return cls(path, names, final, feeds, framework)

    def tensor_names(self) -> dict[str, str]:
        """Each name the converted graph answers for, to its tensor."""
        return dict(self._names)

    def reference(self) -> Runtime:
        """The reference runtime of this network, loaded on first use."""
        from vulcain.runtimes import load_runtime

        with self._reference_lock:
            if self._reference is None:
                self._reference = load_runtime(self.framework, self._folder)
            return self._reference

    def has_output(self, name: str) -> bool:
        return super().has_output(name) or self.reference().has_output(name)

    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        if all(name in self._names for name in outputs):
            return super().forward(feeds, outputs)
        return self.reference().forward(feeds, outputs)

    def loaded_files(self, folder: Path) -> list[Path]:
        return [folder / CONVERTED_FILE]

    def close(self) -> None:
        super().close()
        with self._reference_lock:
            reference, self._reference = self._reference, None
        if reference is not None:
            reference.close()
