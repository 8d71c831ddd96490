from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import builders
from tests.runtimes.conftest import images
from vulcain.caffe_proto import NetParameter
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import TensorSpec
from vulcain.runtimes.caffe import CaffeRuntime

CAFFE = "nv-caffe-0.x-mod"
LAYERS = ["conv1", "relu1", "pool1", "fc1", "prob"]


def _direct(folder: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    net = cv2.dnn.readNetFromCaffe(
        str(folder / "deploy.prototxt"), str(folder / "snapshot.caffemodel")
    )
    net.setInput(batch)
    return {name: np.array(out) for name, out in zip(LAYERS, net.forward(LAYERS), strict=True)}


@pytest.mark.parametrize("batch_size", [1, 4])
def test_small_cnn_matches_opencv(caffe_small_cnn_dir: Path, batch_size: int):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    assert isinstance(runtime, CaffeRuntime)
    batch = images(batch_size)
    expected = _direct(caffe_small_cnn_dir, batch)
    result = runtime.forward({"data": batch}, ["prob", "conv1", "pool1", "relu1", "fc1"])
    assert list(result) == ["prob", "conv1", "pool1", "relu1", "fc1"]
    for name in LAYERS:
        assert result[name].shape == expected[name].shape
        assert result[name].shape[0] == batch_size
        np.testing.assert_array_equal(result[name], expected[name])
    assert (result["conv1"] < 0).any() and (result["relu1"] >= 0).all()


def test_small_cnn_describes_itself(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    assert runtime.inputs() == [TensorSpec("data", (None, 3, 16, 16))]
    assert runtime.can_feed("data") and not runtime.can_feed("conv1")
    assert runtime.outputs() == LAYERS
    assert runtime.final_outputs() == ["prob"]
    assert runtime.has_output("pool1") and not runtime.has_output("pool2")


@pytest.mark.parametrize("shape", [(1, 3, 8, 8), (2, 3, 5, 11), (3, 3, 31, 17)])
def test_identity_returns_its_input_exactly(tmp_path: Path, shape: tuple[int, ...]):
    builders.caffe_identity(tmp_path, input_name="image")
    runtime = load_runtime(CAFFE, tmp_path)
    batch = np.random.default_rng(1).normal(0, 100, shape).astype(np.float32)
    np.testing.assert_array_equal(runtime.forward({"image": batch}, ["out"])["out"], batch)


def test_identity_single_channel(tmp_path: Path):
    builders.caffe_identity(tmp_path, channels=1, height=4, width=6)
    runtime = load_runtime(CAFFE, tmp_path)
    batch = images(2, channels=1, height=9, width=3)
    np.testing.assert_array_equal(runtime.forward({"data": batch}, ["out"])["out"], batch)


def test_unknown_output_names_them_and_lists_known(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    with pytest.raises(UnknownTensorError) as raised:
        runtime.forward({"data": images(1)}, ["prob", "pool5", "fc7"])
    message = raised.value.message
    assert "'pool5'" in message and "'fc7'" in message
    assert "conv1" in message and "prob" in message


def test_unknown_input_is_named(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    with pytest.raises(UnknownTensorError, match=r"'image'.*Known names: data"):
        runtime.forward({"image": images(1)}, ["prob"])


def test_wrong_input_shape_is_a_model_error(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    with pytest.raises(ModelError, match=r"failed on inputs of shape data \(1, 3, 9, 9\)"):
        runtime.forward({"data": images(1, height=9, width=9)}, ["prob"])


def test_missing_caffemodel(tmp_path: Path):
    builders.caffe_small_cnn(tmp_path)["snapshot.caffemodel"].unlink()
    with pytest.raises(ModelError, match=r"snapshot\.caffemodel \(the Caffe weights\) is missing"):
        load_runtime(CAFFE, tmp_path)


@pytest.mark.parametrize("cut", ["truncated", "garbage"])
def test_corrupt_caffemodel(tmp_path: Path, cut: str):
    snapshot = builders.caffe_small_cnn(tmp_path)["snapshot.caffemodel"]
    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: len(data) // 2] if cut == "truncated" else b"\xff" * 999)
    with pytest.raises(ModelError, match=r"snapshot\.caffemodel is corrupt: protobuf cannot"):
        load_runtime(CAFFE, tmp_path)


def test_caffemodel_blob_of_the_wrong_size(tmp_path: Path):
    snapshot = builders.caffe_small_cnn(tmp_path)["snapshot.caffemodel"]
    net = NetParameter.FromString(snapshot.read_bytes())
    del net.layer[0].blobs[0].data[5:]
    snapshot.write_bytes(net.SerializeToString())
    with pytest.raises(ModelError, match=r"blob 0 of layer 'conv1' holds 5 values but its shape"):
        load_runtime(CAFFE, tmp_path)


def test_prototxt_syntax_error_names_the_line(tmp_path: Path):
    deploy = builders.caffe_small_cnn(tmp_path)["deploy.prototxt"]
    lines = deploy.read_text().splitlines()
    assert lines[8] == '  name: "conv1"'
    lines[8] = '  name: "conv1'  # unterminated string
    deploy.write_text("\n".join(lines))
    with pytest.raises(ModelError, match=r"deploy\.prototxt has a syntax error: 9:"):
        load_runtime(CAFFE, tmp_path)


def test_unknown_layer_type_is_a_model_error(tmp_path: Path):
    deploy = builders.caffe_small_cnn(tmp_path)["deploy.prototxt"]
    deploy.write_text(deploy.read_text().replace('"Softmax"', '"SoftmaxWithMagic"'))
    with pytest.raises(ModelError, match="OpenCV cannot load this Caffe network"):
        load_runtime(CAFFE, tmp_path)


def test_other_python_layers_are_refused(tmp_path: Path):
    deploy = builders.caffe_proposal_net(tmp_path)["deploy.prototxt"]
    deploy.write_text(deploy.read_text().replace("rpn.proposal_layer", "my.layers"))
    with pytest.raises(ModelError, match=r"Python layer of module 'my\.layers'"):
        load_runtime(CAFFE, tmp_path)


def test_proposal_network_returns_rois(tmp_path: Path):
    builders.caffe_proposal_net(tmp_path)
    runtime = load_runtime(CAFFE, tmp_path)
    assert [spec.name for spec in runtime.inputs()] == ["data", "im_info"]
    assert runtime.has_output("rois") and runtime.has_output("proposal")
    height, width = 96, 128
    feeds = {
        "data": images(1, height=height, width=width),
        "im_info": np.array([[height, width, 1.0]], np.float32),
    }
    result = runtime.forward(feeds, ["rois", "rpn_cls_prob_reshape", "rpn_bbox_pred"])
    rois = result["rois"]
    assert rois.ndim == 2 and rois.shape[1] == 5 and 0 < rois.shape[0] <= 300
    assert (rois[:, 0] == 0).all()
    assert (rois[:, 1:] >= 0).all()
    assert (rois[:, [1, 3]] <= width - 1).all() and (rois[:, [2, 4]] <= height - 1).all()
    assert result["rpn_cls_prob_reshape"].shape == (1, 18, height // 16, width // 16)
    assert result["rpn_bbox_pred"].shape == (1, 36, height // 16, width // 16)


def test_forward_from_several_threads(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    batches = [images(1 + index % 3, seed=index) for index in range(8)]
    expected = [_direct(caffe_small_cnn_dir, batch) for batch in batches]
    failures: list[str] = []

    def work(index: int) -> None:
        for _ in range(5):
            result = runtime.forward({"data": batches[index]}, ["prob", "pool1"])
            for name in ("prob", "pool1"):
                if not np.array_equal(result[name], expected[index][name]):
                    failures.append(f"thread {index} {name}")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_forward_after_close_is_a_model_error(caffe_small_cnn_dir: Path):
    runtime = load_runtime(CAFFE, caffe_small_cnn_dir)
    runtime.close()
    with pytest.raises(ModelError, match="unloaded"):
        runtime.forward({"data": images(1)}, ["prob"])
