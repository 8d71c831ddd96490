"""Mean files: .npy in the network's order, .binaryproto as Caffe C x H x W."""

from __future__ import annotations

import numpy as np
import pytest

from vulcain.caffe_proto import BlobProto
from vulcain.errors import PreprocessingError
from vulcain.inference.means import load_mean
from vulcain.inference.preprocessing import preprocess
from vulcain.schemas import ImagePreprocessing

ORDERS = ["NCHW", "NCWH", "NHWC", "NWHC"]


def write_binaryproto(path, chw: np.ndarray, *, with_shape: bool) -> None:
    blob = BlobProto()
    if with_shape:
        blob.shape.dim.extend([1, *chw.shape])
    else:
        blob.num, (blob.channels, blob.height, blob.width) = 1, chw.shape
    blob.data.extend(chw.astype(np.float32).ravel().tolist())
    path.write_bytes(blob.SerializeToString())


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("with_shape", [True, False])
def test_binaryproto_is_transposed_to_the_network_order(tmp_path, order, with_shape):
    chw = np.random.default_rng(0).uniform(0, 255, (3, 6, 5)).astype(np.float32)
    path = tmp_path / "mean.binaryproto"
    write_binaryproto(path, chw, with_shape=with_shape)
    mean = load_mean(path, ImagePreprocessing(target_size="5x6", dimension_order=order))
    assert mean.dtype == np.float32
    np.testing.assert_array_equal(mean, np.einsum(f"chw->{order[1:].lower()}", chw))


@pytest.mark.parametrize("order", ORDERS)
def test_binaryproto_mean_is_subtracted_from_the_tensor(tmp_path, make_image, order):
    chw = np.random.default_rng(1).uniform(0, 255, (3, 12, 10)).astype(np.float32)
    path = tmp_path / "mean.binaryproto"
    write_binaryproto(path, chw, with_shape=True)
    spec = ImagePreprocessing(target_size="10x12", dimension_order=order)
    mean = load_mean(path, spec)
    image = make_image(30, 22)
    plain = preprocess(image, spec).tensor
    with_mean = preprocess(image, spec, mean).tensor
    expected = plain - np.einsum(f"chw->{order[1:].lower()}", chw)
    np.testing.assert_allclose(with_mean, expected, rtol=1e-6)


def test_npy_mean_keeps_its_layout_and_broadcasts(tmp_path, make_image):
    path = tmp_path / "mean.npy"
    np.save(path, np.array([[[10.0, 20.0, 30.0]]]), allow_pickle=False)
    spec = ImagePreprocessing(target_size="8x6", dimension_order="NHWC")
    mean = load_mean(path, spec)
    assert mean.shape == (1, 1, 3)
    assert mean.dtype == np.float32
    image = make_image(12, 16)
    expected = preprocess(image, spec).tensor - np.array([10, 20, 30], np.float32)
    np.testing.assert_allclose(preprocess(image, spec, mean).tensor, expected, rtol=1e-6)


def test_npy_with_a_batch_dimension_of_one_is_accepted(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.ones((1, 3, 4, 4), np.float64))
    mean = load_mean(path, ImagePreprocessing(target_size="4"))
    assert mean.shape == (3, 4, 4)
    assert mean.dtype == np.float32


def test_gray_input_takes_a_one_channel_mean(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.full((1, 1, 1), 0.5))
    spec = ImagePreprocessing(target_size="4", color_channels="L", dimension_order="NHWC")
    assert load_mean(path, spec).shape == (1, 1, 1)


def test_mean_with_too_many_channels_names_both_shapes(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.zeros((4, 1, 1)))
    with pytest.raises(PreprocessingError, match=r"\(4, 1, 1\).*4 channels.*\(3, 224, 224\)"):
        load_mean(path, ImagePreprocessing(target_size="224"))


def test_three_channel_mean_for_a_gray_input_is_refused(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.zeros((1, 1, 3)))
    spec = ImagePreprocessing(target_size="8", color_channels="L", dimension_order="NHWC")
    with pytest.raises(PreprocessingError, match="color_channels L gives 1"):
        load_mean(path, spec)


def test_mean_that_cannot_broadcast_is_refused_at_load(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(PreprocessingError, match=r"shape \(3,\).*\(3, 224, 224\).*\(3, 1, 1\)"):
        load_mean(path, ImagePreprocessing(target_size="224x224", dimension_order="NCHW"))


def test_pickled_npy_is_refused(tmp_path):
    path = tmp_path / "mean.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(PreprocessingError, match="without pickle"):
        load_mean(path, ImagePreprocessing(target_size="4"))


def test_corrupt_binaryproto_is_refused(tmp_path):
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(b"\xff\xff\xff garbage")
    with pytest.raises(PreprocessingError, match="not a Caffe BlobProto"):
        load_mean(path, ImagePreprocessing(target_size="4"))


def test_binaryproto_with_missing_values_is_refused(tmp_path):
    blob = BlobProto(num=1, channels=3, height=4, width=4)
    blob.data.extend([1.0] * 10)
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(blob.SerializeToString())
    with pytest.raises(PreprocessingError, match=r"48 values.*holds 10"):
        load_mean(path, ImagePreprocessing(target_size="4"))
