"""Networks shaped like the Caffe zoo's converted and compared with OpenCV; what has no
ONNX form, or where OpenCV departs from Caffe, is declined with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.accelerate._nets import CaffeNet
from tests.accelerate.conftest import assert_same_tensors, converted_runtime
from vulcain.accelerate._graph import NoOnnxForm
from vulcain.accelerate.compare import Agreement, Disagreement
from vulcain.accelerate.convert import convert
from vulcain.frameworks import CAFFE
from vulcain.runtimes import load_runtime


def resnet(net: CaffeNet) -> None:
    """Stem, max pool, two bottleneck blocks (projection shortcut), global pool, fc."""
    x = net.bn_scale_relu("conv1", net.conv("conv1", "data", 8, 7, stride=2, pad=3))
    x = net.pool("pool1", x, "MAX", 3, 2)
    for index, stride in enumerate((1, 2)):
        block = f"res{index}"
        shortcut = net.conv(f"{block}_proj", x, 16, 1, stride=stride, bias=False)
        y = net.bn_scale_relu(f"{block}a", net.conv(f"{block}a", x, 4, 1, bias=False))
        y = net.bn_scale_relu(f"{block}b", net.conv(f"{block}b", y, 4, 3, stride=stride, pad=1))
        y = net.conv(f"{block}c", y, 16, 1, bias=False)
        x = net.layer(block, "Eltwise", [shortcut, y])
        net.layer(f"{block}_relu", "ReLU", [x], tops=[x])
    x = net.global_pool("pool5", x)
    net.layer("prob", "Softmax", [net.fc("fc", x, 10)], shape=(10,))


def vgg(net: CaffeNet) -> None:
    x = "data"
    for stage, width in enumerate((8, 16)):
        for index in range(2):
            x = net.conv(f"conv{stage}_{index}", x, width, 3, pad=1)
            x = net.layer(f"relu{stage}_{index}", "ReLU", [x], tops=[x])
        x = net.pool(f"pool{stage}", x, "MAX", 2, 2)
    x = net.layer("relu6", "ReLU", [net.fc("fc6", x, 32)], tops=["fc6"])
    x = net.layer("drop6", "Dropout", [x], tops=[x])
    net.layer("prob", "Softmax", [net.fc("fc7", x, 10)], shape=(10,))


def googlenet(net: CaffeNet) -> None:
    x = net.conv("conv1", "data", 8, 7, stride=2, pad=3)
    x = net.layer("relu1", "ReLU", [x], tops=[x])
    x = net.pool("pool1", x, "MAX", 3, 2)
    params = "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }"
    x = net.layer("norm1", "LRN", [x], params)
    branches = [
        net.conv("inc_1x1", x, 4, 1),
        net.conv("inc_3x3", net.conv("inc_3x3_reduce", x, 4, 1), 6, 3, pad=1),
        net.conv("inc_5x5", net.conv("inc_5x5_reduce", x, 2, 1), 4, 5, pad=2),
        net.conv("inc_pool_proj", net.pool("inc_pool", x, "MAX", 3, 1, pad=1), 4, 1),
    ]
    x = net.concat("inc_output", branches)
    x = net.pool("pool5", x, "AVE", 3, 1)
    net.layer("prob", "Softmax", [net.fc("loss3", x, 10)], shape=(10,))


def mobilenet(net: CaffeNet) -> None:
    x = net.bn_scale_relu("conv1", net.conv("conv1", "data", 8, 3, stride=2, pad=1, bias=False))
    for index, (width, stride) in enumerate(((16, 1), (32, 2))):
        channels = net.shapes[x][0]
        dw = net.conv(
            f"dw{index}", x, channels, 3, stride=stride, pad=1, group=channels, bias=False
        )
        x = net.bn_scale_relu(f"dw{index}", dw)
        x = net.bn_scale_relu(f"pw{index}", net.conv(f"pw{index}", x, width, 1, bias=False))
    x = net.global_pool("pool6", x)
    x = net.conv("fc7", x, 10, 1)
    net.layer("prob", "Softmax", [net.layer("flat", "Flatten", [x], shape=(10,))])


SHAPED_LIKE = {"resnet": resnet, "vgg": vgg, "googlenet": googlenet, "mobilenet": mobilenet}


@pytest.mark.parametrize("name", list(SHAPED_LIKE))
def test_zoo_shaped_networks_give_opencv_tensors(tmp_path: Path, name: str):
    """Inputs in a pixel's range, but for VGG's first 3x3 convolution on raw pixels: there
    OpenCV's and onnxruntime's sums differ by about 3e-6 of the input's scale (measured),
    past 1e-4 on values near zero once inputs reach 20."""
    net = CaffeNet(3, 45, 37, seed=1)
    SHAPED_LIKE[name](net)
    scale = 10 if name == "vgg" else 50
    agreement = assert_same_tensors(net.write(tmp_path), (3, 45, 37), batch=3, scale=scale)
    assert agreement.tensors_compared > 10


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_any_batch_size_and_intermediate_layers(tmp_path: Path, batch: int):
    net = CaffeNet(3, 45, 37, seed=2)
    resnet(net)
    runtime = converted_runtime(net.write(tmp_path), (3, 45, 37))
    reference = load_runtime(CAFFE, tmp_path)
    x = np.random.default_rng(batch).normal(0, 50, (batch, 3, 45, 37)).astype(np.float32)
    wanted = ["res1b", "pool1", "conv1", "prob"]
    got = runtime.forward({"data": x}, wanted)
    assert list(got) == wanted and all(got[name].shape[0] == batch for name in wanted)
    Agreement().check(reference.forward({"data": x}, wanted), got)
    assert runtime.final_outputs() == ["prob"] and not runtime.one_forward_at_a_time


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        (
            'layer { name: "proposal" type: "Python" bottom: "data" top: "rois" '
            'python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" } }',
            "layer `proposal` (type Python) has no ONNX form",
        ),
        (
            'layer { name: "conv4_3_norm" type: "Normalize" bottom: "data" top: "n" }',
            "layer `conv4_3_norm` (type Normalize) has no ONNX form",
        ),
        (
            'layer { name: "stochastic" type: "Pooling" bottom: "data" top: "s" '
            "pooling_param { pool: STOCHASTIC kernel_size: 2 } }",
            "layer `stochastic` (type Pooling) pools stochastically",
        ),
        (
            'layer { name: "r" type: "Reshape" bottom: "data" top: "r" '
            "reshape_param { shape { dim: -1 } } }",
            "layer `r` (type Reshape) reshapes the batch axis",
        ),
    ],
)
def test_no_onnx_form_says_why(tmp_path: Path, layer: str, reason: str):
    prototxt = 'input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n' + layer + "\n"
    (tmp_path / "deploy.prototxt").write_text(prototxt)
    from vulcain.accelerate.caffe import convert_caffe

    with pytest.raises(NoOnnxForm) as raised:
        convert_caffe(prototxt, b"", {"data": (3, 8, 8)}, [])
    assert raised.value.reason.startswith(reason)


def test_where_opencv_departs_from_caffe_the_conversion_follows_caffe_and_is_declined(
    tmp_path: Path,
):
    """OpenCV 4.14 ignores InnerProduct's ``transpose`` and LRN's ``k``: the converted
    network computes Caffe's formulas, so it disagrees with the reference, which serves."""
    net = CaffeNet(2, 3, 3, seed=4)
    weights = net.normal((18, 5), 0.5)
    params = "inner_product_param { num_output: 5 transpose: true bias_term: false }"
    net.layer("fc_t", "InnerProduct", ["data"], params, blobs=[weights], shape=(5,))
    net.layer("lrn", "LRN", ["data"], "lrn_param { local_size: 3 alpha: 0.5 k: 2 }")
    runtime = converted_runtime(net.write(tmp_path), (2, 3, 3))
    x = np.random.default_rng(0).normal(size=(1, 2, 3, 3)).astype(np.float32)
    got = runtime.forward({"data": x}, ["fc_t", "lrn"])
    np.testing.assert_allclose(got["fc_t"], x.reshape(1, -1) @ weights, rtol=1e-5, atol=1e-5)
    padded = np.pad(x**2, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = sum(padded[:, i : i + 2] for i in range(3))
    np.testing.assert_allclose(got["lrn"], x / (2 + 0.5 / 3 * window) ** 0.75, rtol=1e-5)
    reference = load_runtime(CAFFE, tmp_path)
    with pytest.raises(Disagreement, match="tensor `fc_t` differs"):
        Agreement().check(reference.forward({"data": x}, ["fc_t"]), got)


def test_every_reference_name_must_have_a_counterpart(tmp_path: Path):
    net = CaffeNet(3, 8, 8)
    net.conv("conv", "data", 4, 3)
    net.write(tmp_path)
    reference = load_runtime(CAFFE, tmp_path)
    feeds = {"data": np.zeros((1, 3, 8, 8), np.float32)}
    converted = convert(CAFFE, tmp_path, reference, feeds, variable_sizes=False)
    assert converted.names == {"conv": "conv"} and converted.final == ["conv"]
    with pytest.raises(NoOnnxForm, match="NETWORK"):
        convert(CAFFE, tmp_path, reference, feeds, variable_sizes=True)
