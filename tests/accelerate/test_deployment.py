"""The engine's deployment: conversion, comparison, the decision, and serving from the
kept file (Caffe and a TensorFlow 1.x SavedModel)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests import builders
from tests.inference.test_engine import make_network
from tests.settings import engine_settings
from vulcain.accelerate.compare import Agreement
from vulcain.inference.acceleration import converted_spec
from vulcain.inference.engine import Engine
from vulcain.runtimes import load_runtime
from vulcain.runtimes.converted import ConvertedRuntime

CAFFE, TENSORFLOW = "nv-caffe-0.x-mod", "tensorflow-1.x"


def _preprocessing(tensor: str, order: str, size: str = "16x16") -> dict:
    image = {"target_size": size, "dimension_order": order, "pixel_scaling": 255.0}
    return {"inputs": [{"tensor_name": tensor, "image": image}], "batched_output": True}


def _engine(tmp_path: Path, blobs: dict[str, Path], **settings: object) -> Engine:
    return Engine(engine_settings(tmp_path, **settings), blobs.__getitem__)


def _keep(blobs: dict[str, Path], converted: Path, folder: Path) -> str:
    """Store the converted file as the runner would, under its sha256."""
    key = hashlib.sha256(converted.read_bytes()).hexdigest()
    kept = folder / key
    shutil.copyfile(converted, kept)
    blobs[key] = kept
    return key


def test_caffe_network_deploys_onto_onnxruntime(tmp_path: Path):
    files = builders.caffe_small_cnn(tmp_path / "files")
    network, blobs = make_network(files, CAFFE, _preprocessing("data", "NCHW"))
    engine = _engine(tmp_path, blobs)
    try:
        result = engine.deploy(network)
        acceleration = result.acceleration
        assert acceleration is not None and acceleration.reason is None
        assert (acceleration.runtime, acceleration.reference) == ("onnxruntime", "opencv-dnn")
        assert acceleration.converted is not None and acceleration.converted.is_file()
        found = acceleration.to_json()
        assert found["converted"] is True and 0 <= found["max_abs_difference"] < 0.1
        assert found["at_tensor"] in result.outputs
        assert found["tensors_compared"] >= 5 * 4 and found["forward_passes_compared"] >= 5
        assert result.outputs == ["conv1", "relu1", "pool1", "fc1", "prob"]
        served = converted_spec(network, _keep(blobs, acceleration.converted, tmp_path))
        assert engine.serve(served) > 0
        model = engine._models.get(served)
        assert isinstance(model.runtime, ConvertedRuntime) and len(model.runtimes) == 1
        assert model.runtime.framework == CAFFE and model.runtime.engine == "onnxruntime"
        batch = np.random.default_rng(0).uniform(0, 1, (3, 3, 16, 16)).astype(np.float32)
        wanted = ["prob", "pool1", "conv1"]
        Agreement().check(
            load_runtime(CAFFE, tmp_path / "files").forward({"data": batch}, wanted),
            model.runtime.forward({"data": batch}, wanted),
        )
    finally:
        engine.close()


def test_unsupported_layer_keeps_opencv_and_says_why(tmp_path: Path):
    files = builders.caffe_proposal_net(tmp_path / "files")
    network, blobs = make_network(files, CAFFE, _preprocessing("data", "NCHW", "64x64"))
    engine = _engine(tmp_path, blobs)
    try:
        acceleration = engine.deploy(network).acceleration
    finally:
        engine.close()
    assert acceleration is not None and acceleration.converted is None
    assert acceleration.runtime == acceleration.reference == "opencv-dnn"
    assert acceleration.reason == "layer `proposal` (type Python) has no ONNX form"
    assert acceleration.to_json()["converted"] is False


def test_accelerate_off_converts_nothing_and_serves_the_reference(tmp_path: Path):
    files = builders.caffe_small_cnn(tmp_path / "files")
    network, blobs = make_network(files, CAFFE, _preprocessing("data", "NCHW"))
    engine = _engine(tmp_path, blobs)
    try:
        kept = engine.deploy(network).acceleration.converted
        served = converted_spec(network, _keep(blobs, kept, tmp_path))
    finally:
        engine.close()
    engine = _engine(tmp_path, blobs, accelerate="off")
    try:
        acceleration = engine.deploy(network).acceleration
        assert acceleration.reason == "VULCAIN_ACCELERATE is off"
        assert engine._models.get(served).runtime.engine == "opencv-dnn"
    finally:
        engine.close()


@pytest.mark.slow
def test_tensorflow_savedmodel_deploys_onto_onnxruntime(tmp_path: Path):
    files = builders.tf_small_cnn(tmp_path / "files")
    network, blobs = make_network(files, TENSORFLOW, _preprocessing("input", "NHWC"))
    engine = _engine(tmp_path, blobs)
    try:
        acceleration = engine.deploy(network).acceleration
        assert acceleration.reason is None and acceleration.runtime == "onnxruntime"
        # tf2onnx keeps conv1/Relu:0 and pool1/MaxPool:0 by name but lays them out NCHW:
        # those names stay TensorFlow's, answered by the reference runtime.
        assert acceleration.names_left_to_reference > 0
        served = converted_spec(network, _keep(blobs, acceleration.converted, tmp_path))
        engine.serve(served)
        runtime = engine._models.get(served).runtime
        assert isinstance(runtime, ConvertedRuntime) and runtime.framework == TENSORFLOW
        assert "prob" in runtime.tensor_names() and runtime.can_feed("input")
        batch = np.random.default_rng(1).uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
        reference = load_runtime(TENSORFLOW, tmp_path / "files")
        wanted = ["prob", "pool1/MaxPool"]
        got = runtime.forward({"input": batch}, wanted)
        assert got["pool1/MaxPool"].shape == (4, 8, 8, 4)  # TensorFlow's own layout
        Agreement().check(reference.forward({"input": batch}, wanted), got)
        reference.close()
    finally:
        engine.close()
