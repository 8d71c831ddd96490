"""At deployment: whether onnxruntime serves a Caffe or TensorFlow network.

The network is converted to ONNX (our Caffe converter, tf2onnx for TensorFlow), then both
runtimes run the comparison inputs (:mod:`._comparison_inputs`). The converted network is
kept only if its tensors agree with the reference runtime's within the tolerance of
:mod:`vulcain.accelerate.compare`:

- every name the converted graph answers for, one image at a time. For Caffe that is every
  layer and top the reference answers for (the converter claims them all, so any
  disagreement refuses the conversion); for TensorFlow, the tensors tf2onnx kept under
  their names: one that differs (tf2onnx lays some out NCHW) is left to TensorFlow, which
  serves the names the graph lacks;
- the final outputs through the reference's serving path (OpenCV fuses layers when only
  those are asked for), one image at a time and in batches.

Otherwise the reference runtime serves and the outcome says why. The comparison of every
layer runs on a Net of its own: OpenCV gives wrong tensors when a Net that was asked for a
layer inside a fused chain is then asked for a later one (measured with OpenCV 4.14), so
the Net that serves never sees those requests.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vulcain.accelerate.compare import Agreement, Disagreement
from vulcain.accelerate.convert import NoOnnxForm, convert
from vulcain.errors import ModelError
from vulcain.frameworks import CAFFE, CONVERTED_FILE, TENSORFLOW
from vulcain.inference._comparison_inputs import batched_feeds, image_sets, single_feeds
from vulcain.inference._model_cache import LoadedModel
from vulcain.inference.network_spec import NetworkSpec
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import ONNXRUNTIME, Runtime

log = logging.getLogger(__name__)

AUTO, OFF = "auto", "off"


@dataclass(frozen=True)
class Acceleration:
    """What a deployment decided: which runtime serves, and why not onnxruntime."""

    runtime: str
    reference: str
    reason: str | None = None
    converted: Path | None = None
    """The checked ONNX file (a scratch file: the caller stores it, then removes it)."""
    agreement: Agreement | None = None
    names_left_to_reference: int = 0
    memory_mb: dict[str, float] = field(default_factory=dict)

    def declined(self, reason: str) -> Acceleration:
        return replace(self, runtime=self.reference, reason=reason, converted=None)

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            "runtime": self.runtime,
            "reference_runtime": self.reference,
            "converted": self.runtime == ONNXRUNTIME,
            "reason": self.reason,
        }
        if self.agreement is not None:
            found.update(self.agreement.to_json())
        if self.names_left_to_reference:
            found["names_answered_by_reference"] = self.names_left_to_reference
        if self.memory_mb:
            found["resident_memory_mb"] = dict(self.memory_mb)
        return found


def reference_spec(network: NetworkSpec) -> NetworkSpec:
    """``network`` without the converted file a former deployment may have added."""
    files = {name: key for name, key in network.files.items() if name != CONVERTED_FILE}
    return replace(network, files=files)


def converted_spec(network: NetworkSpec, key: str) -> NetworkSpec:
    """``network`` with the converted file stored under ``key``."""
    return replace(network, files={**network.files, CONVERTED_FILE: key})


def accelerate(
    model: LoadedModel,
    scratch: Path,
    *,
    mode: str = AUTO,
    samples: Sequence[Sequence[np.ndarray]] = (),
) -> Acceleration | None:
    """Convert and check ``model``'s network (loaded on its reference runtime); ``None``
    for a network that onnxruntime already runs (ONNX)."""
    if model.network.framework not in (CAFFE, TENSORFLOW):
        return None
    reference = model.runtime.engine
    outcome = Acceleration(runtime=reference, reference=reference)
    if mode == OFF:
        return outcome.declined("VULCAIN_ACCELERATE is off")
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{model.network.id}-{uuid.uuid4().hex}.onnx"
    try:
        converted = convert(
            model.network.framework,
            model.folder,
            model.runtime,
            single_feeds(model, image_sets(model)[:1])[0],
            variable_sizes=any(
                entry.image.resize_type == "NETWORK" for entry in model.network.preprocessing.inputs
            ),
        )
        converted.save(path)
        agreement, kept = _check(model, path, samples)
    except (Disagreement, NoOnnxForm) as refusal:
        path.unlink(missing_ok=True)
        return outcome.declined(refusal.reason)
    except ModelError as error:
        path.unlink(missing_ok=True)
        return outcome.declined(f"onnxruntime cannot run the converted network: {error.message}")
    except Exception:
        path.unlink(missing_ok=True)
        log.exception("converting network %s failed", model.network.id)
        return outcome.declined("the conversion failed unexpectedly (the server log has why)")
    if len(kept) < len(converted.names):
        converted.save(path, kept)
    return replace(
        outcome,
        runtime=ONNXRUNTIME,
        converted=path,
        agreement=agreement,
        names_left_to_reference=len(model.runtime.outputs()) - len(kept),
    )


def _check(
    model: LoadedModel, path: Path, samples: Sequence[Sequence[np.ndarray]]
) -> tuple[Agreement, dict[str, str]]:
    """Compare the converted network of ``path`` with the reference; the names it may
    serve (every name compared, less the TensorFlow tensors that differ)."""
    from vulcain.runtimes.converted import ConvertedRuntime

    framework = model.network.framework
    candidate = ConvertedRuntime.load_file(path)
    separate = framework == CAFFE
    everything: Runtime = load_runtime(framework, model.folder) if separate else model.runtime
    try:
        names = candidate.tensor_names()
        final = model.runtime.final_outputs()
        agreement = Agreement()
        engines = (model.runtime.engine, ONNXRUNTIME)
        sets = image_sets(model, samples)
        for feeds in single_feeds(model, sets):
            expected = everything.forward(feeds, list(names))
            got = candidate.forward(feeds, list(names))
            agreement.forward_passes += 1
            for name in list(names):
                try:
                    agreement.check({name: expected[name]}, {name: got[name]}, engines=engines)
                except Disagreement:
                    if framework == CAFFE or name in final:
                        raise
                    names.pop(name)
        for feeds in [*single_feeds(model, sets[:1]), *batched_feeds(model, sets)]:
            serving = model.runtime.forward(feeds, final)
            agreement.check(serving, candidate.forward(feeds, final), engines=engines)
            agreement.forward_passes += 1
        return agreement, names
    finally:
        candidate.close()
        if separate:
            everything.close()


__all__ = ["AUTO", "OFF", "Acceleration", "accelerate"]
