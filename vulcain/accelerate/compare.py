"""Whether a converted network gives the reference runtime's tensors.

Two tensors agree when every value of the converted one is within ``1e-4 + 1e-3 * |r|``
of the reference value ``r`` (``numpy.isclose`` with those tolerances, NaN matching NaN),
and shapes match. :class:`Agreement` accumulates comparisons and keeps the largest
absolute difference seen; the first disagreement raises :class:`Disagreement` with a
sentence naming the tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ABSOLUTE = 1e-4
RELATIVE = 1e-3


class Disagreement(Exception):
    """A tensor of the converted network differs from the reference; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Agreement:
    """What the comparisons so far measured."""

    max_abs_difference: float = 0.0
    worst_tensor: str | None = None
    tensors_compared: int = 0
    forward_passes: int = 0
    """Forward passes of each runtime whose tensors were compared."""

    def check(
        self,
        reference: Mapping[str, np.ndarray],
        converted: Mapping[str, np.ndarray],
        *,
        engines: tuple[str, str] = ("the reference runtime", "onnxruntime"),
    ) -> None:
        """Compare every tensor of ``reference`` with ``converted``'s of the same name."""
        for name, expected in reference.items():
            got = np.asarray(converted[name])
            expected = np.asarray(expected)
            if got.shape != expected.shape:
                raise Disagreement(
                    f"tensor `{name}` has shape {got.shape} on {engines[1]} but "
                    f"{expected.shape} on {engines[0]}"
                )
            self.tensors_compared += 1
            if got.size == 0:
                continue
            expected64, got64 = expected.astype(np.float64), got.astype(np.float64)
            close = np.isclose(got64, expected64, rtol=RELATIVE, atol=ABSOLUTE, equal_nan=True)
            finite = np.isfinite(expected64) & np.isfinite(got64)
            difference = float(np.abs(got64 - expected64)[finite].max(initial=0.0))
            if self.worst_tensor is None or difference > self.max_abs_difference:
                self.max_abs_difference, self.worst_tensor = difference, name
            if not close.all():
                where = np.unravel_index(int(np.argmin(close)), close.shape)
                raise Disagreement(
                    f"tensor `{name}` differs: {got64[where]:.6g} on {engines[1]} against "
                    f"{expected64[where]:.6g} on {engines[0]} at {tuple(int(i) for i in where)} "
                    f"(allowed: {ABSOLUTE:g} + {RELATIVE:g} x |reference|)"
                )

    def to_json(self) -> dict[str, object]:
        return {
            "max_abs_difference": float(f"{self.max_abs_difference:.3g}"),
            "at_tensor": self.worst_tensor,
            "tensors_compared": self.tensors_compared,
            "forward_passes_compared": self.forward_passes,
            "tolerance": {"absolute": ABSOLUTE, "relative": RELATIVE},
        }
