"""Builders of real model files for tests (no model can be downloaded here).

Each builder writes files into ``dest`` and returns a dict mapping the name a user would
upload (``deploy.prototxt``, ``variables.index``, ``model.onnx``, ...) to its path.
TensorFlow is imported inside the TensorFlow builders only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vulcain.caffe_proto import BlobProto, NetParameter

# ---------------------------------------------------------------- Caffe


def _blob(array: np.ndarray) -> BlobProto:
    blob = BlobProto()
    blob.shape.dim.extend(array.shape)
    blob.data.extend(np.asarray(array, dtype=np.float32).ravel().tolist())
    return blob


def _write_caffe(
    dest: Path, prototxt: str, weights: dict[str, list[np.ndarray]], name: str
) -> dict[str, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    net = NetParameter(name=name)
    for layer_name, arrays in weights.items():
        layer = net.layer.add(name=layer_name)
        layer.blobs.extend(_blob(array) for array in arrays)
    deploy = dest / "deploy.prototxt"
    deploy.write_text(prototxt)
    snapshot = dest / "snapshot.caffemodel"
    snapshot.write_bytes(net.SerializeToString())
    return {"deploy.prototxt": deploy, "snapshot.caffemodel": snapshot}


def caffe_identity(
    dest: Path, *, input_name: str = "data", channels: int = 3, height: int = 8, width: int = 8
) -> dict[str, Path]:
    """Layer ``out`` is a 1x1 convolution with identity weights: exactly its input."""
    prototxt = f"""name: "identity"
input: "{input_name}"
input_shape {{ dim: 1 dim: {channels} dim: {height} dim: {width} }}
layer {{
  name: "out"
  type: "Convolution"
  bottom: "{input_name}"
  top: "out"
  convolution_param {{ num_output: {channels} kernel_size: 1 }}
}}
"""
    kernel = np.eye(channels, dtype=np.float32).reshape(channels, channels, 1, 1)
    bias = np.zeros(channels, dtype=np.float32)
    return _write_caffe(dest, prototxt, {"out": [kernel, bias]}, "identity")


SMALL_CNN_FILTERS = 4
SMALL_CNN_CLASSES = 5


def _small_cnn_weights(
    channels: int, height: int, width: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """conv kernel (O, I, 3, 3), conv bias, fc weight (classes, O*H/2*W/2), fc bias."""
    rng = np.random.default_rng(seed)
    conv_w = rng.normal(0, 0.5, (SMALL_CNN_FILTERS, channels, 3, 3)).astype(np.float32)
    conv_b = rng.normal(0, 0.1, SMALL_CNN_FILTERS).astype(np.float32)
    features = SMALL_CNN_FILTERS * (height // 2) * (width // 2)
    fc_w = rng.normal(0, 0.1, (SMALL_CNN_CLASSES, features)).astype(np.float32)
    fc_b = rng.normal(0, 0.1, SMALL_CNN_CLASSES).astype(np.float32)
    return conv_w, conv_b, fc_w, fc_b


def caffe_small_cnn(
    dest: Path, *, channels: int = 3, height: int = 16, width: int = 16, seed: int = 0
) -> dict[str, Path]:
    """Input ``data``; layers conv1 (3x3, pad 1) -> relu1 -> pool1 (max 2x2) -> fc1 -> prob."""
    prototxt = f"""name: "small_cnn"
layer {{
  name: "data"
  type: "Input"
  top: "data"
  input_param {{ shape {{ dim: 1 dim: {channels} dim: {height} dim: {width} }} }}
}}
layer {{
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  convolution_param {{ num_output: {SMALL_CNN_FILTERS} kernel_size: 3 pad: 1 }}
}}
layer {{ name: "relu1" type: "ReLU" bottom: "conv1" top: "relu1" }}
layer {{
  name: "pool1"
  type: "Pooling"
  bottom: "relu1"
  top: "pool1"
  pooling_param {{ pool: MAX kernel_size: 2 stride: 2 }}
}}
layer {{
  name: "fc1"
  type: "InnerProduct"
  bottom: "pool1"
  top: "fc1"
  inner_product_param {{ num_output: {SMALL_CNN_CLASSES} }}
}}
layer {{ name: "prob" type: "Softmax" bottom: "fc1" top: "prob" }}
"""
    conv_w, conv_b, fc_w, fc_b = _small_cnn_weights(channels, height, width, seed)
    weights = {"conv1": [conv_w, conv_b], "fc1": [fc_w, fc_b]}
    return _write_caffe(dest, prototxt, weights, "small_cnn")


PROPOSAL_ANCHORS = 9


def caffe_proposal_net(
    dest: Path, *, height: int = 64, width: int = 64, scales: tuple[int, ...] | None = None
) -> dict[str, Path]:
    """Faster-RCNN-like: inputs ``data`` and ``im_info``; a stride-16 feature map ``conv1``,
    heads ``rpn_cls_prob_reshape`` and ``rpn_bbox_pred``, and the ``type: "Python"``
    ``rpn.proposal_layer`` layer ``proposal`` producing ``rois`` (anchor ``scales`` in its
    param_str when given)."""
    anchors = PROPOSAL_ANCHORS
    param_str = "'feat_stride': 16" + (f", 'scales': {list(scales)}" if scales else "")
    prototxt = f"""name: "proposal_net"
input: "data"
input_shape {{ dim: 1 dim: 3 dim: {height} dim: {width} }}
input: "im_info"
input_shape {{ dim: 1 dim: 3 }}
layer {{
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  convolution_param {{ num_output: 8 kernel_size: 16 stride: 16 }}
}}
layer {{ name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }}
layer {{
  name: "rpn_cls_score"
  type: "Convolution"
  bottom: "conv1"
  top: "rpn_cls_score"
  convolution_param {{ num_output: {2 * anchors} kernel_size: 1 }}
}}
layer {{
  name: "rpn_bbox_pred"
  type: "Convolution"
  bottom: "conv1"
  top: "rpn_bbox_pred"
  convolution_param {{ num_output: {4 * anchors} kernel_size: 1 }}
}}
layer {{
  bottom: "rpn_cls_score"
  top: "rpn_cls_score_reshape"
  name: "rpn_cls_score_reshape"
  type: "Reshape"
  reshape_param {{ shape {{ dim: 0 dim: 2 dim: -1 dim: 0 }} }}
}}
layer {{
  name: "rpn_cls_prob"
  type: "Softmax"
  bottom: "rpn_cls_score_reshape"
  top: "rpn_cls_prob"
}}
layer {{
  name: "rpn_cls_prob_reshape"
  type: "Reshape"
  bottom: "rpn_cls_prob"
  top: "rpn_cls_prob_reshape"
  reshape_param {{ shape {{ dim: 0 dim: {2 * anchors} dim: -1 dim: 0 }} }}
}}
layer {{
  name: "proposal"
  type: "Python"
  bottom: "rpn_cls_prob_reshape"
  bottom: "rpn_bbox_pred"
  bottom: "im_info"
  top: "rois"
  python_param {{
    module: "rpn.proposal_layer"
    layer: "ProposalLayer"
    param_str: "{param_str}"
  }}
}}
"""
    rng = np.random.default_rng(7)
    weights = {
        "conv1": [
            rng.normal(0, 0.05, (8, 3, 16, 16)).astype(np.float32),
            np.zeros(8, np.float32),
        ],
        "rpn_cls_score": [
            rng.normal(0, 0.5, (2 * anchors, 8, 1, 1)).astype(np.float32),
            np.zeros(2 * anchors, np.float32),
        ],
        "rpn_bbox_pred": [
            rng.normal(0, 0.05, (4 * anchors, 8, 1, 1)).astype(np.float32),
            np.zeros(4 * anchors, np.float32),
        ],
    }
    return _write_caffe(dest, prototxt, weights, "proposal_net")


# ---------------------------------------------------------------- TensorFlow


def _save_tf(dest: Path, graph: object, session: object, inputs: dict, outputs: dict) -> dict:
    """Export a SavedModel (serve tag, default signature) and flatten it into ``dest``."""
    import tensorflow as tf

    dest.mkdir(parents=True, exist_ok=True)
    export = dest / "_export"
    if export.exists():
        shutil.rmtree(export)
    with graph.as_default():
        builder = tf.compat.v1.saved_model.Builder(str(export))
        signature = tf.compat.v1.saved_model.predict_signature_def(inputs=inputs, outputs=outputs)
        builder.add_meta_graph_and_variables(
            session,
            [tf.compat.v1.saved_model.tag_constants.SERVING],
            signature_def_map={"serving_default": signature},
        )
        builder.save()
    files: dict[str, Path] = {}
    for path in [export / "saved_model.pb", *sorted((export / "variables").iterdir())]:
        target = dest / path.name
        shutil.move(path, target)
        files[path.name] = target
    shutil.rmtree(export)
    return files


def tf_identity(dest: Path, *, input_name: str = "input", channels: int = 3) -> dict[str, Path]:
    """Placeholder ``input_name`` [None, None, None, channels]; ``output`` = input * ones,
    where ``ones`` is a variable (so variables files exist)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.float32, [None, None, None, channels], name=input_name)
        ones = v1.Variable(np.ones(channels, np.float32), name="ones")
        output = tf.multiply(image, ones, name="output")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return _save_tf(dest, graph, session, {"input": image}, {"output": output})


def tf_integer_input(dest: Path, *, dtype: str = "uint8", channels: int = 3) -> dict[str, Path]:
    """Placeholder ``input`` [None, None, None, channels] of the integer type ``dtype``;
    ``output`` = the input cast to float32 (what the network was fed, value for value)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.as_dtype(dtype), [None, None, None, channels], name="input")
        output = tf.cast(image, tf.float32, name="output")
        with v1.Session(graph=graph) as session:
            return _save_tf(dest, graph, session, {"input": image}, {"output": output})


def tf_small_cnn(
    dest: Path, *, channels: int = 3, height: int = 16, width: int = 16, seed: int = 0
) -> dict[str, Path]:
    """Placeholder ``input`` [None, H, W, C] (NHWC); tensors ``conv1/Conv2D``,
    ``conv1/BiasAdd``, ``conv1/Relu``, ``pool1/MaxPool``, ``pool1/to_nchw``, ``flatten``,
    ``logits``, ``prob``. Same weights as :func:`caffe_small_cnn` for the same seed."""
    import tensorflow as tf

    v1 = tf.compat.v1
    conv_w, conv_b, fc_w, fc_b = _small_cnn_weights(channels, height, width, seed)
    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.float32, [None, height, width, channels], name="input")
        with v1.name_scope("conv1"):
            kernel = v1.Variable(conv_w.transpose(2, 3, 1, 0), name="kernel")
            bias = v1.Variable(conv_b, name="bias")
            conv = tf.nn.conv2d(image, kernel, strides=1, padding="SAME", name="Conv2D")
            relu = tf.nn.relu(tf.nn.bias_add(conv, bias, name="BiasAdd"), name="Relu")
        with v1.name_scope("pool1"):
            pool = tf.nn.max_pool2d(relu, 2, 2, padding="VALID", name="MaxPool")
        features = SMALL_CNN_FILTERS * (height // 2) * (width // 2)
        nchw = tf.transpose(pool, [0, 3, 1, 2], name="pool1/to_nchw")
        flat = tf.reshape(nchw, [-1, features], name="flatten")
        fc_kernel = v1.Variable(fc_w.T, name="fc1_kernel")
        fc_bias = v1.Variable(fc_b, name="fc1_bias")
        logits = tf.add(tf.matmul(flat, fc_kernel), fc_bias, name="logits")
        prob = tf.nn.softmax(logits, name="prob")
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return _save_tf(dest, graph, session, {"input": image}, {"prob": prob})


# ---------------------------------------------------------------- ONNX


def _write_onnx(dest: Path, graph: onnx.GraphProto) -> dict[str, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = dest / "model.onnx"
    onnx.save(model, str(path))
    return {"model.onnx": path}


def onnx_identity(dest: Path, *, input_name: str = "data", channels: int = 3) -> dict[str, Path]:
    """Input ``input_name`` [N, C, H, W] with dynamic N, H, W; ``out`` = input * ones."""
    ones = numpy_helper.from_array(np.ones((1, channels, 1, 1), np.float32), "ones")
    graph = helper.make_graph(
        [helper.make_node("Mul", [input_name, "ones"], ["out"], name="out")],
        "identity",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", channels, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", channels, "H", "W"])],
        initializer=[ones],
    )
    return _write_onnx(dest, graph)


def onnx_integer_input(
    dest: Path, *, elem_type: int = TensorProto.UINT8, channels: int = 3
) -> dict[str, Path]:
    """Input ``data`` [N, C, H, W] of the integer type ``elem_type``; ``out`` = the input
    cast to float (what the network was fed, value for value)."""
    graph = helper.make_graph(
        [helper.make_node("Cast", ["data"], ["out"], name="out", to=TensorProto.FLOAT)],
        "integer_input",
        [helper.make_tensor_value_info("data", elem_type, ["N", channels, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", channels, "H", "W"])],
    )
    return _write_onnx(dest, graph)


def onnx_small_cnn(
    dest: Path, *, channels: int = 3, height: int = 16, width: int = 16, seed: int = 0
) -> dict[str, Path]:
    """Input ``data`` [N, C, H, W] (dynamic N); node and tensor names conv1, relu1, pool1,
    flatten, fc1, prob (graph output). Same weights as :func:`caffe_small_cnn`."""
    conv_w, conv_b, fc_w, fc_b = _small_cnn_weights(channels, height, width, seed)
    initializers = [
        numpy_helper.from_array(conv_w, "conv1_w"),
        numpy_helper.from_array(conv_b, "conv1_b"),
        numpy_helper.from_array(fc_w, "fc1_w"),
        numpy_helper.from_array(fc_b, "fc1_b"),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["data", "conv1_w", "conv1_b"], ["conv1"], name="conv1", pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node(
            "MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node("Flatten", ["pool1"], ["flatten"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flatten", "fc1_w", "fc1_b"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Softmax", ["fc1"], ["prob"], name="prob", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", channels, height, width])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", SMALL_CNN_CLASSES])],
        initializer=initializers,
    )
    return _write_onnx(dest, graph)


def onnx_batch_mixing(dest: Path, *, gram_is_output: bool = True) -> dict[str, Path]:
    """Input ``data`` [N, C, H, W] (dynamic N, H, W). ``mean`` [N, C] (each image's channel
    means) has the batch as first dimension; ``gram`` [N, N], the products of every image
    with every other (``flat @ flat.T``), has none, yet its first size is the batch size.
    ``gram`` is a graph output, or (``gram_is_output=False``) an inner tensor only."""
    nodes = [
        helper.make_node("ReduceMean", ["data"], ["mean"], name="mean", axes=[2, 3], keepdims=0),
        helper.make_node("Flatten", ["data"], ["flat"], name="flat", axis=1),
        helper.make_node("Transpose", ["flat"], ["flat_t"], name="flat_t", perm=[1, 0]),
        helper.make_node("MatMul", ["flat", "flat_t"], ["gram"], name="gram"),
    ]
    outputs = [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["N", 3])]
    if gram_is_output:
        outputs.append(helper.make_tensor_value_info("gram", TensorProto.FLOAT, ["N", "N"]))
    graph = helper.make_graph(
        nodes,
        "batch_mixing",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        outputs,
    )
    return _write_onnx(dest, graph)


def onnx_fails_on_bright(dest: Path, *, limit: float = 250.0) -> dict[str, Path]:
    """Input ``data`` [N, 3, H, W] (dynamic N, H, W); ``out`` = ``data``, unless a value of
    the batch reaches ``limit``: then the forward pass itself fails (a Gather at index
    ``floor(max / limit)`` in a table of one), for the whole batch it is in."""
    initializers = [
        numpy_helper.from_array(np.array([1.0], np.float32), "table"),
        numpy_helper.from_array(np.array(limit, np.float32), "limit"),
    ]
    nodes = [
        helper.make_node("ReduceMax", ["data"], ["max"], name="max", keepdims=0),
        helper.make_node("Div", ["max", "limit"], ["ratio"], name="ratio"),
        helper.make_node("Floor", ["ratio"], ["floor"], name="floor"),
        helper.make_node("Cast", ["floor"], ["index"], name="index", to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "index"], ["one"], name="one"),
        helper.make_node("Mul", ["data", "one"], ["out"], name="out"),
    ]
    graph = helper.make_graph(
        nodes,
        "fails_on_bright",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        initializer=initializers,
    )
    return _write_onnx(dest, graph)


def onnx_slow_identity(
    dest: Path,
    *,
    channels: int = 3,
    height: int = 16,
    width: int = 16,
    copies: int = 512,
    matmuls: int = 12,
) -> dict[str, Path]:
    """Input ``data`` [N, C, H, W] (dynamic N); ``out`` is exactly ``data``, but computed
    slowly: each image flattened to F = C*H*W values, tiled into ``copies`` rows, multiplied
    ``matmuls`` times by the F x F identity (from ``EyeLike``, so the file stays small),
    then the first N rows reshaped back. Each product is a real (copies x F x F) GEMM that
    onnxruntime cannot fold away (it depends on the input), and a product by the identity
    is exact in float32 (one term ``x * 1``, the others exact zeros). The defaults, about
    7 GFLOP, take about 35 ms a forward on 2 idle cores (measured), more under load."""
    features = channels * height * width
    initializers = [
        numpy_helper.from_array(np.array([-1, features], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array([features, features], np.int64), "square"),
        numpy_helper.from_array(np.array([copies, 1], np.int64), "copies"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
    ]
    nodes = [
        helper.make_node("ConstantOfShape", ["square"], ["zeros"], name="zeros"),
        helper.make_node("EyeLike", ["zeros"], ["eye"], name="eye"),
        helper.make_node("Shape", ["data"], ["data_shape"], name="data_shape"),
        helper.make_node("Shape", ["data"], ["batch"], name="batch", start=0, end=1),
        helper.make_node("Reshape", ["data", "flat_shape"], ["flat"], name="flat"),
        helper.make_node("Tile", ["flat", "copies"], ["mm0"], name="tiled"),
    ]
    for index in range(matmuls):
        nodes.append(
            helper.make_node(
                "MatMul", [f"mm{index}", "eye"], [f"mm{index + 1}"], name=f"mm{index + 1}"
            )
        )
    nodes += [
        helper.make_node("Slice", [f"mm{matmuls}", "zero", "batch", "zero"], ["rows"], name="rows"),
        helper.make_node("Reshape", ["rows", "data_shape"], ["out"], name="out"),
    ]
    shape = ["N", channels, height, width]
    graph = helper.make_graph(
        nodes,
        "slow_identity",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)],
        initializer=initializers,
    )
    return _write_onnx(dest, graph)


def onnx_channel_classifier(dest: Path, weights: np.ndarray, bias: np.ndarray) -> dict[str, Path]:
    """Input ``data`` [N, 3, H, W] (dynamic N, H, W); ``prob`` = softmax(mean of each
    channel @ ``weights`` (3, L) + ``bias`` (L)), shape [N, L]: on an image of one colour
    the scores follow from that colour alone."""
    labels = weights.shape[1]
    nodes = [
        helper.make_node("ReduceMean", ["data"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["means", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["prob"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "channel_classifier",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", labels])],
        initializer=[
            numpy_helper.from_array(weights.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
        ],
    )
    return _write_onnx(dest, graph)


def onnx_constant_outputs(dest: Path, outputs: dict[str, np.ndarray]) -> dict[str, Path]:
    """Input ``data`` [N, 3, H, W] (dynamic N, H, W); each output ``name`` is its array
    with a batch dimension, [N, *array.shape], whatever the image: a network whose
    candidates are known in advance."""
    nodes = [helper.make_node("ReduceMean", ["data"], ["means"], axes=[2, 3], keepdims=0)]
    initializers = []
    graph_outputs = []
    for name, array in outputs.items():
        flat = np.asarray(array, np.float32).reshape(-1)
        initializers += [
            numpy_helper.from_array(np.zeros((3, flat.size), np.float32), f"{name}_zeros"),
            numpy_helper.from_array(flat, f"{name}_values"),
            numpy_helper.from_array(np.array([-1, *array.shape], np.int64), f"{name}_shape"),
        ]
        nodes += [
            helper.make_node("MatMul", ["means", f"{name}_zeros"], [f"{name}_none"]),
            helper.make_node("Add", [f"{name}_none", f"{name}_values"], [f"{name}_flat"]),
            helper.make_node("Reshape", [f"{name}_flat", f"{name}_shape"], [name]),
        ]
        graph_outputs.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *array.shape])
        )
    graph = helper.make_graph(
        nodes,
        "constant_outputs",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        graph_outputs,
        initializer=initializers,
    )
    return _write_onnx(dest, graph)


def onnx_non_finite(dest: Path) -> dict[str, Path]:
    """Input ``data`` [N, 3, H, W]; ``out`` = data / (data - data), NaN where a value is 0
    and +Infinity where it is positive; ``neg`` = -out (-Infinity where it is positive)."""
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["data", "data"], ["zero"], name="zero"),
            helper.make_node("Div", ["data", "zero"], ["out"], name="out"),
            helper.make_node("Neg", ["out"], ["neg"], name="neg"),
        ],
        "non_finite",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [
            helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, "H", "W"]),
            helper.make_tensor_value_info("neg", TensorProto.FLOAT, ["N", 3, "H", "W"]),
        ],
    )
    return _write_onnx(dest, graph)
