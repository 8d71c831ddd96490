"""The interface every framework runtime implements.

A runtime loads a network from a folder holding the files a user uploaded, tells which
inputs it takes, and runs a forward pass on a batch, returning any set of named tensors.
It knows nothing of HTTP, the database, preprocessing or batching: callers hand it ready
tensors. A loaded runtime must be safe to call from several threads at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

OPENCV = "opencv-dnn"
TENSORFLOW_ENGINE = "tensorflow"
ONNXRUNTIME = "onnxruntime"


@dataclass(frozen=True)
class TensorSpec:
    """An input of a network. ``shape`` uses ``None`` for dimensions that may vary."""

    name: str
    shape: tuple[int | None, ...] | None
    dtype: str = "float32"


class Runtime(ABC):
    """A loaded network. Create with :meth:`load`, then call :meth:`forward`."""

    framework: str
    engine: ClassVar[str]
    """What runs the forward passes (:data:`OPENCV`, :data:`TENSORFLOW_ENGINE`,
    :data:`ONNXRUNTIME`): a network of one framework may be run by another engine."""
    one_forward_at_a_time: ClassVar[bool] = False
    """Whether a loaded network runs one forward pass at a time (concurrent calls wait
    for each other): then forward passes overlap only on separate copies of it."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> Runtime:
        """Load the network from ``folder``; raise :class:`vulcain.errors.ModelError`."""

    @abstractmethod
    def inputs(self) -> list[TensorSpec]:
        """The tensors that can be fed (placeholders or, for TensorFlow, any tensor)."""

    @abstractmethod
    def can_feed(self, name: str) -> bool:
        """Whether ``name`` may be fed an image tensor."""

    @abstractmethod
    def outputs(self) -> list[str]:
        """Every name :meth:`forward` can return (layers, or tensors for TensorFlow)."""

    @abstractmethod
    def final_outputs(self) -> list[str]:
        """The network's own outputs (Caffe's top layers, TF signature outputs, ONNX graph
        outputs): what a warm-up pass fetches."""

    @abstractmethod
    def has_output(self, name: str) -> bool:
        """Whether ``name`` names a layer or tensor that :meth:`forward` can return."""

    @abstractmethod
    def forward(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Run one batch. Unknown names raise :class:`vulcain.errors.UnknownTensorError`
        naming them and listing known ones. Results keep the batch as first dimension
        where the network does."""

    def loaded_files(self, folder: Path) -> list[Path]:
        """The files of ``folder`` this runtime was loaded from: a loaded network takes at
        least their size in memory."""
        return sorted(folder.iterdir())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the runtime holds (sessions, native memory)."""
