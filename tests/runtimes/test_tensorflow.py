from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.runtimes.conftest import images
from vulcain.errors import ModelError, UnknownTensorError
from vulcain.runtimes import load_runtime
from vulcain.runtimes.base import Runtime, TensorSpec

TF = "tensorflow-1.x"
TENSORS = ["conv1/Relu", "pool1/MaxPool:0", "logits", "prob:0"]


@pytest.fixture(scope="module")
def small_cnn(tf_small_cnn_dir: Path) -> Runtime:
    return load_runtime(TF, tf_small_cnn_dir)


@pytest.fixture(scope="module")
def direct(tf_small_cnn_dir: Path):
    """A tf.compat.v1 session on the SavedModel laid out the way TensorFlow writes it."""
    import tensorflow as tf

    export = tf_small_cnn_dir.parent / "tf_small_cnn_export"
    (export / "variables").mkdir(parents=True, exist_ok=True)
    shutil.copy(tf_small_cnn_dir / "saved_model.pb", export)
    for path in tf_small_cnn_dir.glob("variables.*"):
        shutil.copy(path, export / "variables")
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        tf.compat.v1.saved_model.loader.load(session, ["serve"], str(export))

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        fetches = [name if ":" in name else f"{name}:0" for name in TENSORS]
        values = session.run(fetches, {"input:0": batch})
        return dict(zip(TENSORS, values, strict=True))

    yield run
    session.close()


@pytest.mark.parametrize("batch_size", [1, 4])
def test_small_cnn_matches_a_direct_session(small_cnn: Runtime, direct, batch_size: int):
    batch = images(batch_size).transpose(0, 2, 3, 1).copy()
    expected = direct(batch)
    result = small_cnn.forward({"input": batch}, TENSORS)
    assert list(result) == TENSORS
    for name in TENSORS:
        assert result[name].shape[0] == batch_size
        np.testing.assert_array_equal(result[name], expected[name])


def test_same_network_as_caffe(tmp_path: Path, small_cnn: Runtime):
    from tests import builders

    builders.caffe_small_cnn(tmp_path)
    caffe = load_runtime("nv-caffe-0.x-mod", tmp_path)
    batch = images(2)
    ours = small_cnn.forward({"input:0": batch.transpose(0, 2, 3, 1)}, ["prob"])["prob"]
    np.testing.assert_allclose(ours, caffe.forward({"data": batch}, ["prob"])["prob"], atol=1e-5)


def test_feeds_an_intermediate_tensor(small_cnn: Runtime, direct):
    batch = images(3).transpose(0, 2, 3, 1).copy()
    expected = direct(batch)
    assert small_cnn.can_feed("conv1/Relu")
    result = small_cnn.forward({"conv1/Relu:0": expected["conv1/Relu"]}, ["prob"])
    np.testing.assert_array_equal(result["prob"], expected["prob:0"])


def test_describes_itself(small_cnn: Runtime):
    assert small_cnn.inputs() == [TensorSpec("input", (None, 16, 16, 3), "float32")]
    assert small_cnn.final_outputs() == ["prob"]
    outputs = small_cnn.outputs()
    assert {"conv1/Relu", "conv1/Relu:0", "logits", "prob", "prob:0"} <= set(outputs)
    assert small_cnn.has_output("pool1/MaxPool") and small_cnn.has_output("pool1/MaxPool:0")
    assert not small_cnn.has_output("pool1/MaxPool:1") and not small_cnn.has_output("pool2")


def test_identity_returns_its_input_exactly(tf_identity_dir: Path):
    runtime = load_runtime(TF, tf_identity_dir)
    assert runtime.inputs() == [TensorSpec("input", (None, None, None, 3), "float32")]
    for shape in [(1, 8, 8, 3), (2, 5, 11, 3), (3, 31, 17, 3)]:
        batch = np.random.default_rng(3).normal(0, 100, shape).astype(np.float32)
        np.testing.assert_array_equal(
            runtime.forward({"input": batch}, ["output"])["output"], batch
        )


def test_unknown_tensor_names_them_and_lists_known(small_cnn: Runtime):
    with pytest.raises(UnknownTensorError) as raised:
        small_cnn.forward({"input": images(1).transpose(0, 2, 3, 1)}, ["prob", "logits:3", "fc7"])
    message = raised.value.message
    assert "'logits:3'" in message and "'fc7'" in message
    assert "conv1/Relu" in message and "save/" not in message


def _copy(source: Path, dest: Path, *, skip: str) -> Path:
    dest.mkdir()
    for path in source.iterdir():
        if path.name != skip:
            shutil.copy(path, dest / path.name)
    return dest


def test_missing_variables_index(tmp_path: Path, tf_identity_dir: Path):
    folder = _copy(tf_identity_dir, tmp_path / "model", skip="variables.index")
    with pytest.raises(ModelError, match=r"variables\.index is missing: this SavedModel has"):
        load_runtime(TF, folder)


def test_missing_variables_data(tmp_path: Path, tf_identity_dir: Path):
    folder = _copy(tf_identity_dir, tmp_path / "model", skip="variables.data-00000-of-00001")
    with pytest.raises(ModelError, match=r"upload variables\.data-00000-of-00001"):
        load_runtime(TF, folder)


def test_corrupt_variables_data(tmp_path: Path, tf_identity_dir: Path):
    folder = _copy(tf_identity_dir, tmp_path / "model", skip="")
    (folder / "variables.data-00000-of-00001").write_bytes(b"\x00")
    with pytest.raises(ModelError, match="TensorFlow cannot load the SavedModel") as raised:
        load_runtime(TF, folder)
    assert "Graph execution error" not in raised.value.message
    assert "save/RestoreV2" in raised.value.message


def test_wrong_feed_shape(small_cnn: Runtime):
    with pytest.raises(ModelError, match=r"The TensorFlow network failed: Cannot feed value"):
        small_cnn.forward({"input": images(1, height=9, width=9).transpose(0, 2, 3, 1)}, ["prob"])


def test_missing_graph(tmp_path: Path):
    with pytest.raises(ModelError, match=r"saved_model\.pb \(or saved_model\.pbtxt\) is missing"):
        load_runtime(TF, tmp_path)


def test_corrupt_graph(tmp_path: Path, tf_identity_dir: Path):
    folder = _copy(tf_identity_dir, tmp_path / "model", skip="")
    (folder / "saved_model.pb").write_bytes(b"\xff" * 64)
    with pytest.raises(ModelError, match=r"saved_model\.pb is corrupt"):
        load_runtime(TF, folder)


def test_pbtxt_graph(tmp_path: Path, tf_identity_dir: Path):
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    folder = _copy(tf_identity_dir, tmp_path / "model", skip="saved_model.pb")
    saved_model = saved_model_pb2.SavedModel.FromString(
        (tf_identity_dir / "saved_model.pb").read_bytes()
    )
    (folder / "saved_model.pbtxt").write_text(text_format.MessageToString(saved_model))
    runtime = load_runtime(TF, folder)
    batch = images(1).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(runtime.forward({"input": batch}, ["output"])["output"], batch)
    (folder / "saved_model.pbtxt").write_text("meta_graphs { nonsense")
    with pytest.raises(ModelError, match=r"saved_model\.pbtxt has a syntax error"):
        load_runtime(TF, folder)


def test_forward_from_several_threads(small_cnn: Runtime, direct):
    batches = [images(1 + index % 3, seed=index).transpose(0, 2, 3, 1).copy() for index in range(6)]
    expected = [direct(batch) for batch in batches]
    failures: list[str] = []

    def work(index: int) -> None:
        for _ in range(5):
            result = small_cnn.forward({"input": batches[index]}, ["prob:0", "logits"])
            for name in ("prob:0", "logits"):
                if not np.array_equal(result[name], expected[index][name]):
                    failures.append(f"thread {index} {name}")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
