"""Dynamic batching: concurrent requests are run together and each gets exactly what it
would get alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests import builders
from tests.inference.test_engine import image_spec, make_network, png, request, sample_image
from tests.settings import engine_settings
from vulcain.errors import ImageError, ModelError
from vulcain.inference.batching import Batcher, BatchItem
from vulcain.inference.engine import Engine
from vulcain.inference.network_spec import NetworkSpec

SMALL_CNNS: dict[str, tuple[Callable[..., dict[str, Path]], str, str]] = {
    "onnx": (builders.onnx_small_cnn, "onnx", "NCHW"),
    "caffe": (builders.caffe_small_cnn, "nv-caffe-0.x-mod", "NCHW"),
    "tensorflow": (builders.tf_small_cnn, "tensorflow-1.x", "NHWC"),
}
INTERMEDIATE = {"onnx": "conv1", "caffe": "conv1", "tensorflow": "conv1/Relu:0"}
INPUT = {"onnx": "data", "caffe": "data", "tensorflow": "input"}


def small_cnn(tmp_path: Path, kind: str, batched_output: bool = True) -> tuple[NetworkSpec, dict]:
    build, framework, order = SMALL_CNNS[kind]
    spec = image_spec(target_size="16x16", dimension_order=order)
    preprocessing = {
        "inputs": [{"tensor_name": INPUT[kind], "image": spec}],
        "batched_output": batched_output,
    }
    return make_network(build(tmp_path / kind), framework, preprocessing)


def engine(tmp_path: Path, blobs: dict, **settings: object) -> Engine:
    return Engine(engine_settings(tmp_path, **settings), blobs.__getitem__)


@pytest.mark.parametrize("kind", sorted(SMALL_CNNS))
def test_batched_results_equal_results_alone(tmp_path: Path, kind: str) -> None:
    network, blobs = small_cnn(tmp_path, kind)
    images = [png(sample_image(seed=seed)) for seed in range(16)]
    # Every other request also asks for an intermediate layer: one batch, two name sets.
    names = [["prob"] if i % 2 else [INTERMEDIATE[kind], "prob"] for i in range(len(images))]

    alone_engine = engine(tmp_path, blobs, max_batch_size=1)
    try:
        alone = [
            alone_engine.infer(network, request(image, outputs=outputs))
            for image, outputs in zip(images, names, strict=True)
        ]
    finally:
        alone_engine.close()

    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        batching_engine.deploy(network)
        futures = [
            batching_engine.submit(network, request(image, outputs=outputs))
            for image, outputs in zip(images, names, strict=True)
        ]
        together = [future.result(timeout=60) for future in futures]
        sizes = batching_engine._models.get(network).batcher.batch_sizes
    finally:
        batching_engine.close()

    assert max(sizes) > 1, f"no batch formed: {sizes}"
    for one, other in zip(alone, together, strict=True):
        assert list(one) == list(other)
        for name, tensor in one.items():
            assert tensor.shape == other[name].shape and tensor.shape[0] == 1
            np.testing.assert_array_equal(tensor, other[name])


def test_a_bad_request_fails_alone(tmp_path: Path) -> None:
    network, blobs = small_cnn(tmp_path, "onnx")
    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        sources = [png(sample_image(seed=seed)) for seed in range(7)]
        sources.insert(3, b"\x89PNG but not really")
        futures = [batching_engine.submit(network, request(s, outputs=["prob"])) for s in sources]
        with pytest.raises(ImageError):
            futures[3].result(timeout=60)
        good = [f.result(timeout=60) for i, f in enumerate(futures) if i != 3]
    finally:
        batching_engine.close()
    assert len(good) == 7
    assert all(result["prob"].shape == (1, builders.SMALL_CNN_CLASSES) for result in good)


def test_an_item_failing_inside_the_forward_pass_fails_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The network fails any forward pass whose batch holds a value of 250 or more: the
    # bright image breaks the batch it is in, and only it may fail.
    files = builders.onnx_fails_on_bright(tmp_path / "m")
    spec = image_spec(target_size="8x8")
    network, blobs = make_network(
        files, "onnx", {"inputs": [{"tensor_name": "data", "image": spec}]}
    )
    dim = [np.random.default_rng(seed).integers(0, 200, (8, 8, 3), np.uint8) for seed in range(7)]
    images = [*dim[:3], np.full((8, 8, 3), 255, np.uint8), *dim[3:]]
    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=200)
    try:
        batching_engine.deploy(network)
        model = batching_engine._models.get(network)
        with (
            caplog.at_level("INFO", logger="vulcain.inference.batching"),
            model.batcher.preparing(),
        ):
            # Held "preparing" while all are submitted: they wait for one full batch.
            futures = [
                batching_engine.submit(network, request(png(image), outputs=["out"]))
                for image in images
            ]
            while model.batcher.batch_sizes.total() == 0 and not futures[0].done():
                time.sleep(0.01)
        with pytest.raises(ModelError, match="out of"):
            futures[3].result(timeout=60)
        good = [future.result(timeout=60)["out"] for i, future in enumerate(futures) if i != 3]
        sizes = model.batcher.batch_sizes
    finally:
        batching_engine.close()
    assert max(sizes) > 1, f"no batch formed: {sizes}"
    assert any(record.getMessage().startswith("a batch of 8 failed") for record in caplog.records)
    for image, tensor in zip(dim, good, strict=True):
        np.testing.assert_array_equal(tensor, image.astype(np.float32).transpose(2, 0, 1)[None])


def test_unbatched_networks_run_one_at_a_time(tmp_path: Path) -> None:
    network, blobs = small_cnn(tmp_path, "onnx", batched_output=False)
    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        futures = [
            batching_engine.submit(network, request(png(sample_image(seed=s)), outputs=["prob"]))
            for s in range(6)
        ]
        for future in futures:
            future.result(timeout=60)
        sizes = batching_engine._models.get(network).batcher.batch_sizes
    finally:
        batching_engine.close()
    assert sizes == {1: 6}


def test_network_resized_inputs_of_different_sizes_are_not_mixed(tmp_path: Path) -> None:
    files = builders.onnx_identity(tmp_path / "m")
    spec = image_spec(resize_type="NETWORK", target_size="20")
    network, blobs = make_network(
        files, "onnx", {"inputs": [{"tensor_name": "data", "image": spec}]}
    )
    shapes = [(30, 40), (40, 30), (30, 40), (20, 20), (40, 30)]
    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        futures = [
            batching_engine.submit(network, request(png(sample_image(h, w)), outputs=["out"]))
            for h, w in shapes
        ]
        results = [future.result(timeout=60) for future in futures]
    finally:
        batching_engine.close()
    expected = [[1, 3, 15, 20], [1, 3, 20, 15], [1, 3, 15, 20], [1, 3, 20, 20], [1, 3, 20, 15]]
    assert [list(result["out"].shape) for result in results] == expected


def test_copies_of_a_network_run_their_batches_side_by_side() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def forward(feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)  # a forward pass long enough for the other copy to start one
        with lock:
            running -= 1
        return {name: feeds["x"] * 2 for name in outputs}

    batcher = Batcher([forward, forward], max_batch_size=1, max_delay_s=0.0, name="copies")
    try:
        items = [BatchItem({"x": np.full((1, 2), i, np.float32)}, ("y",)) for i in range(4)]
        for item in items:
            batcher.submit(item)
        results = [item.future.result(timeout=10)["y"] for item in items]
    finally:
        batcher.close(wait=True)
    assert most == 2
    assert [result.tolist() for result in results] == [[[2 * i, 2 * i]] for i in range(4)]


def test_an_engine_loads_copies_of_a_caffe_network_and_warms_each_up(tmp_path: Path) -> None:
    network, blobs = small_cnn(tmp_path, "caffe")
    copies_engine = engine(tmp_path, blobs, model_copies=2)
    try:
        copies_engine.deploy(network)
        model = copies_engine._models.get(network)
        assert len(model.runtimes) == 2 and model.runtimes[0] is not model.runtimes[1]
        image = png(sample_image(seed=1))
        futures = [
            copies_engine.submit(network, request(image, outputs=["prob"])) for _ in range(8)
        ]
        first = futures[0].result(timeout=60)["prob"]
        for future in futures[1:]:
            np.testing.assert_array_equal(future.result(timeout=60)["prob"], first)
    finally:
        copies_engine.close()


def mixing_network(tmp_path: Path, gram_is_output: bool) -> tuple[NetworkSpec, dict]:
    files = builders.onnx_batch_mixing(tmp_path / "mixing", gram_is_output=gram_is_output)
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec(target_size="6x4")}]}
    return make_network(files, "onnx", preprocessing)


@pytest.mark.parametrize("gram_is_output", [True, False], ids=["graph-output", "inner-tensor"])
def test_an_output_without_a_batch_axis_is_never_split_across_requests(
    tmp_path: Path, gram_is_output: bool
) -> None:
    # ``gram`` is [N, N]: its first size is always the batch size, yet row i of a batch
    # holds image i's products with the other requests' images. Each request must get
    # what it gets alone (its own [1, 1] product), never a row of someone else's batch.
    network, blobs = mixing_network(tmp_path, gram_is_output)
    images = [png(sample_image(seed=seed)) for seed in range(16)]
    names = [["mean", "gram"] if i % 2 else ["mean"] for i in range(len(images))]

    alone_engine = engine(tmp_path, blobs, max_batch_size=1)
    try:
        alone = [
            alone_engine.infer(network, request(image, outputs=outputs))
            for image, outputs in zip(images, names, strict=True)
        ]
    finally:
        alone_engine.close()

    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        deployed = batching_engine.deploy(network)
        futures = [
            batching_engine.submit(network, request(image, outputs=outputs))
            for image, outputs in zip(images, names, strict=True)
        ]
        together = [future.result(timeout=60) for future in futures]
        batcher = batching_engine._models.get(network).batcher
    finally:
        batching_engine.close()

    # The deployment found it among the network's own outputs; an inner tensor is learnt
    # from the first batch that asks for it.
    assert deployed.unbatched_outputs == (["gram"] if gram_is_output else [])
    assert batcher.unbatched_outputs == ["gram"]
    assert max(batcher.batch_sizes) > 1, "the requests for mean alone were not batched"
    for one, other in zip(alone, together, strict=True):
        assert list(one) == list(other)
        assert one.get("gram", np.zeros((1, 1))).shape == (1, 1)
        for name, tensor in one.items():
            np.testing.assert_array_equal(tensor, other[name])


def test_a_network_that_cannot_run_a_batch_runs_one_image_at_a_time(tmp_path: Path) -> None:
    # A fixed batch dimension of 1: a batch of two fails at deployment, so none is formed.
    files = builders.onnx_identity(tmp_path / "fixed")
    model = onnx.load(str(files["model.onnx"]))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(model, str(files["model.onnx"]))
    network, blobs = make_network(
        files, "onnx", {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    )
    batching_engine = engine(tmp_path, blobs, max_batch_size=8, max_queue_delay_ms=50)
    try:
        assert batching_engine.deploy(network).unbatched_outputs == ["out"]
        sources = [png(sample_image(seed=seed)) for seed in range(8)]
        futures = [batching_engine.submit(network, request(s, outputs=["out"])) for s in sources]
        results = [future.result(timeout=60)["out"] for future in futures]
        sizes = batching_engine._models.get(network).batcher.batch_sizes
    finally:
        batching_engine.close()
    assert sizes == {1: 8}
    assert all(result.shape == (1, 3, 16, 24) for result in results)


def test_a_batcher_learns_which_outputs_scale_from_its_first_batch() -> None:
    # ``y`` doubles each item; ``total`` sums over the batch, shape [N, N] at batch N
    # (first size equal to the batch size, no batch axis: it does not grow from [1, 1]).
    def forward(feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> dict[str, np.ndarray]:
        x = feeds["x"]
        known = {"y": x * 2, "total": np.full((x.shape[0],) * 2, x.sum(), np.float32)}
        return {name: known[name] for name in outputs}

    batcher = Batcher([forward], max_batch_size=4, max_delay_s=1.0, name="learn")
    try:
        with batcher.preparing():  # a request on its way: the first batch waits to fill
            items = [
                BatchItem({"x": np.full((1, 2), i, np.float32)}, ("y", "total")) for i in range(4)
            ]
            for item in items:
                batcher.submit(item)
            results = [item.future.result(timeout=10) for item in items]
    finally:
        batcher.close(wait=True)
    assert batcher.unbatched_outputs == ["total"]
    for i, result in enumerate(results):
        assert result["y"].tolist() == [[2 * i, 2 * i]]
        assert result["total"].tolist() == [[2 * i]]  # its own sum, as alone
