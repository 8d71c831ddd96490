from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests import builders
from tests.runtimes.conftest import images
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import TensorSpec
from vulcain.runtimes.onnx import MAX_EXTRA_SESSIONS, OnnxRuntime

LAYERS = ["conv1", "relu1", "pool1", "flatten", "fc1", "prob"]


def _direct(folder: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime on the model with every intermediate declared as a graph output."""
    model = onnx.load(str(folder / "model.onnx"))
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in LAYERS[:-1])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(LAYERS, session.run(LAYERS, {"data": batch}), strict=True))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_small_cnn_matches_onnxruntime(onnx_small_cnn_dir: Path, batch_size: int):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    assert isinstance(runtime, OnnxRuntime)
    batch = images(batch_size)
    expected = _direct(onnx_small_cnn_dir, batch)
    for wanted in (["prob"], ["pool1", "prob", "conv1"], LAYERS):
        result = runtime.forward({"data": batch}, wanted)
        assert list(result) == wanted
        for name in wanted:
            assert result[name].shape[0] == batch_size
            np.testing.assert_allclose(result[name], expected[name], rtol=1e-5, atol=1e-6)


def test_same_network_as_caffe(tmp_path: Path, onnx_small_cnn_dir: Path):
    builders.caffe_small_cnn(tmp_path)
    caffe = load_runtime("nv-caffe-0.x-mod", tmp_path)
    onnx_runtime = load_runtime("onnx", onnx_small_cnn_dir)
    batch = images(2)
    want = ["conv1", "pool1", "prob"]
    ours, theirs = onnx_runtime.forward({"data": batch}, want), caffe.forward({"data": batch}, want)
    for name in want:
        scale = float(np.abs(theirs[name]).max())
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-4, atol=1e-5 * scale)


def test_describes_itself(onnx_small_cnn_dir: Path):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    assert runtime.inputs() == [TensorSpec("data", (None, 3, 16, 16))]
    assert runtime.can_feed("data") and not runtime.can_feed("conv1")
    assert set(runtime.outputs()) == set(LAYERS)
    assert runtime.final_outputs() == ["prob"]
    assert runtime.has_output("relu1") and not runtime.has_output("conv1_w")


@pytest.mark.parametrize("shape", [(1, 3, 8, 8), (2, 3, 5, 11), (4, 3, 1, 1)])
def test_identity_returns_its_input_exactly(tmp_path: Path, shape: tuple[int, ...]):
    builders.onnx_identity(tmp_path, input_name="image")
    runtime = load_runtime("onnx", tmp_path)
    batch = np.random.default_rng(2).normal(0, 100, shape).astype(np.float32)
    np.testing.assert_array_equal(runtime.forward({"image": batch}, ["out"])["out"], batch)


def test_unknown_output_names_them_and_lists_known(onnx_small_cnn_dir: Path):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    with pytest.raises(UnknownTensorError) as raised:
        runtime.forward({"data": images(1)}, ["pool5", "prob"])
    assert "'pool5'" in raised.value.message
    assert "relu1" in raised.value.message


def test_extra_sessions_stay_bounded(onnx_small_cnn_dir: Path):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    batch = images(1)
    for name in LAYERS[:-1]:
        runtime.forward({"data": batch}, [name])
    assert len(runtime._extra) == MAX_EXTRA_SESSIONS


def test_missing_model(tmp_path: Path):
    with pytest.raises(ModelError, match=r"model\.onnx \(the ONNX model\) is missing"):
        load_runtime("onnx", tmp_path)


def test_corrupt_model(tmp_path: Path):
    path = builders.onnx_small_cnn(tmp_path)["model.onnx"]
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match=r"model\.onnx"):
        load_runtime("onnx", tmp_path)


def test_invalid_graph(tmp_path: Path):
    path = builders.onnx_small_cnn(tmp_path)["model.onnx"]
    model = onnx.load(str(path))
    model.graph.node[1].op_type = "NoSuchOperator"
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match=r"onnxruntime cannot load model\.onnx"):
        load_runtime("onnx", tmp_path)


def test_wrong_input_shape(onnx_small_cnn_dir: Path):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    with pytest.raises(ModelError, match="The ONNX network failed"):
        runtime.forward({"data": images(1, height=9, width=9)}, ["prob"])


def test_forward_from_several_threads(onnx_small_cnn_dir: Path):
    runtime = load_runtime("onnx", onnx_small_cnn_dir)
    batches = [images(1 + index % 3, seed=index) for index in range(6)]
    expected = [_direct(onnx_small_cnn_dir, batch) for batch in batches]
    failures: list[str] = []

    def work(index: int) -> None:
        wanted = [LAYERS[index % len(LAYERS)], "prob"]
        for _ in range(5):
            result = runtime.forward({"data": batches[index]}, wanted)
            for name in wanted:
                if not np.allclose(result[name], expected[index][name], rtol=1e-5, atol=1e-6):
                    failures.append(f"thread {index} {name}")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
