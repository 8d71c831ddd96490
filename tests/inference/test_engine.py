"""The engine end to end: real model files of each framework, real images, real
preprocessing, checked against a reference written here with numpy and OpenCV."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests import builders
from tests.settings import engine_settings
from vulcain.errors import ImageError, ModelError, UnknownTensorError
from vulcain.inference.engine import Engine
from vulcain.inference.network_spec import NetworkSpec
from vulcain.schemas import InferenceRequest, Preprocessing


def make_network(
    files: dict[str, Path], framework: str, preprocessing: dict, network_id: int = 1
) -> tuple[NetworkSpec, dict[str, Path]]:
    """A NetworkSpec whose blob keys are the files' sha256, and the key -> path map."""
    blobs = {hashlib.sha256(path.read_bytes()).hexdigest(): path for path in files.values()}
    keys = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
    spec = NetworkSpec(network_id, framework, Preprocessing.model_validate(preprocessing), keys)
    return spec, blobs


@pytest.fixture
def engine_for(tmp_path: Path) -> Callable[[dict[str, Path]], Engine]:
    engines: list[Engine] = []

    def build(blobs: dict[str, Path], max_models: int = 8) -> Engine:
        engine = Engine(engine_settings(tmp_path, max_models=max_models), blobs.__getitem__)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def sample_image(height: int = 37, width: int = 53, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def reference(image: np.ndarray, image_spec: dict, mean: np.ndarray | None) -> np.ndarray:
    """docs/preprocessing.md, steps 3 to 7, written independently of vulcain."""
    target = image_spec["target_size"]
    width, height = (int(v) for v in target.split("x")) if "x" in target else (int(target),) * 2
    if image_spec["color_channels"] == "L":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif image_spec["color_channels"] == "RGB":
        image = np.ascontiguousarray(image[:, :, ::-1])
    h, w = image.shape[:2]
    kind = image_spec["resize_type"]

    def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        out = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        return out.reshape(size[1], size[0], img.shape[2])

    if kind == "SQUASH":
        image = resize(image, (width, height))
    elif kind == "CROP":
        s = max(width / w, height / h)
        nw, nh = math.floor(w * s + 0.5), math.floor(h * s + 0.5)
        image = resize(image, (nw, nh))
        x0, y0 = (nw - width) // 2, (nh - height) // 2
        image = image[y0 : y0 + height, x0 : x0 + width]
    elif kind == "FILL":
        s = min(width / w, height / h)
        nw, nh = math.floor(w * s + 0.5), math.floor(h * s + 0.5)
        canvas = np.full((height, width, image.shape[2]), 255, np.uint8)
        x0, y0 = (width - nw) // 2, (height - nh) // 2
        canvas[y0 : y0 + nh, x0 : x0 + nw] = resize(image, (nw, nh))
        image = canvas
    else:  # NETWORK with a single number
        s = width / max(w, h)
        image = resize(image, (math.floor(w * s + 0.5), math.floor(h * s + 0.5)))
    tensor = image.astype(np.float32) * np.float32(image_spec["pixel_scaling"] / 255.0)
    if mean is not None:
        tensor = tensor - mean
    order = {"NCHW": (2, 0, 1), "NHWC": (0, 1, 2), "NCWH": (2, 1, 0), "NWHC": (1, 0, 2)}
    return tensor.transpose(order[image_spec["dimension_order"]])[None]


def image_spec(**overrides: object) -> dict:
    spec = {
        "dimension_order": "NCHW",
        "resize_type": "SQUASH",
        "target_size": "24x16",
        "color_channels": "BGR",
        "pixel_scaling": 255.0,
    }
    spec.update(overrides)
    return spec


def request(*sources: str | bytes, outputs: list[str], **image: object) -> InferenceRequest:
    return InferenceRequest.model_validate(
        {
            "inputs": [{"image": {"source": source, **image}} for source in sources],
            "output_tensors": outputs,
        }
    )


def tensor_of(result: dict[str, np.ndarray]) -> np.ndarray:
    """The one tensor of an engine result."""
    (tensor,) = result.values()
    return tensor


CASES = [
    image_spec(),
    image_spec(dimension_order="NCWH", resize_type="CROP", color_channels="RGB"),
    image_spec(resize_type="FILL", target_size="20", pixel_scaling=1.0),
    image_spec(resize_type="NETWORK", target_size="30", color_channels="RGB"),
]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: f"{s['dimension_order']}-{s['resize_type']}")
def test_onnx_identity_matches_reference(tmp_path: Path, engine_for, spec: dict) -> None:
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": spec}], "batched_output": True},
    )
    engine = engine_for(blobs)
    deployed = engine.deploy(network)
    assert "out" in deployed.outputs
    assert [spec.name for spec in deployed.inputs] == ["data"]
    image = sample_image()
    result = engine.infer(network, request(png(image), outputs=["out"]))
    np.testing.assert_array_equal(tensor_of(result), reference(image, spec, None))


def test_caffe_identity_with_npy_mean_and_gray(tmp_path: Path, engine_for) -> None:
    files = builders.caffe_identity(tmp_path / "m", channels=1)
    mean = np.full((1, 1, 1), 0.25, np.float32)
    np.save(tmp_path / "mean.npy", mean, allow_pickle=False)
    files["mean.npy"] = tmp_path / "mean.npy"
    spec = image_spec(color_channels="L", pixel_scaling=1.0, mean_file="mean.npy")
    network, blobs = make_network(
        files, "nv-caffe-0.x-mod", {"inputs": [{"tensor_name": "data", "image": spec}]}
    )
    engine = engine_for(blobs)
    engine.deploy(network)
    image = sample_image()
    result = engine.infer(network, request(png(image), outputs=["out"]))
    np.testing.assert_allclose(tensor_of(result), reference(image, spec, mean), rtol=1e-6)


def test_tensorflow_identity_nhwc_from_base64(tmp_path: Path, engine_for) -> None:
    spec = image_spec(dimension_order="NHWC", resize_type="CROP", target_size="12x20")
    network, blobs = make_network(
        builders.tf_identity(tmp_path / "m"),
        "tensorflow-1.x",
        {"inputs": [{"tensor_name": "input", "image": spec}]},
    )
    engine = engine_for(blobs)
    engine.deploy(network)
    image = sample_image()
    source = "data:image/*;base64," + base64.b64encode(png(image)).decode()
    result = engine.infer(network, request(source, outputs=["output"]))
    np.testing.assert_array_equal(tensor_of(result), reference(image, spec, None))


def test_bbox_is_applied_before_preprocessing(tmp_path: Path, engine_for) -> None:
    spec = image_spec(target_size="10x10")
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": spec}]},
    )
    engine = engine_for(blobs)
    image = sample_image(40, 50)
    bbox = {"xmin": 0.1, "ymin": 0.25, "xmax": 0.55, "ymax": 0.9}
    result = engine.infer(network, request(png(image), outputs=["out"], bbox=bbox))
    crop = image[10:36, 5:28]  # floor(0.25*40)=10, ceil(0.9*40)=36, floor(5)=5, ceil(27.5)=28
    np.testing.assert_array_equal(tensor_of(result), reference(crop, spec, None))


def test_proposal_network_gets_im_info(tmp_path: Path, engine_for) -> None:
    spec = image_spec(resize_type="NETWORK", target_size="64")
    network, blobs = make_network(
        builders.caffe_proposal_net(tmp_path / "m"),
        "nv-caffe-0.x-mod",
        {"inputs": [{"tensor_name": "data", "image": spec}], "batched_output": False},
    )
    engine = engine_for(blobs)
    engine.deploy(network)
    result = engine.infer(network, request(png(sample_image(48, 64)), outputs=["rois"]))
    rois = tensor_of(result)
    assert rois.ndim == 2 and rois.shape[1] == 5
    assert (rois[:, 3] <= 64).all() and (rois[:, 4] <= 48).all()


def test_deploy_refuses_a_tensor_name_the_network_lacks(tmp_path: Path, engine_for) -> None:
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "pixels", "image": image_spec()}]},
    )
    with pytest.raises(UnknownTensorError, match=r"no input 'pixels'.*data"):
        engine_for(blobs).deploy(network)


def test_request_errors_are_sentences(tmp_path: Path, engine_for) -> None:
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": image_spec()}]},
    )
    engine = engine_for(blobs)
    image = png(sample_image())
    with pytest.raises(UnknownTensorError, match="nope"):
        engine.infer(network, request(image, outputs=["nope"]))
    with pytest.raises(ImageError):
        engine.infer(network, request(b"not an image", outputs=["out"]))


def test_max_image_pixels_setting_refuses_larger_images(tmp_path: Path) -> None:
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": image_spec()}]},
    )
    limit = 37 * 53
    engine = Engine(engine_settings(tmp_path, max_image_pixels=limit), blobs.__getitem__)
    try:
        assert engine.infer(network, request(png(sample_image(37, 53)), outputs=["out"]))
        with pytest.raises(ImageError, match=f"37x54 .* more than the {limit} pixels"):
            engine.infer(network, request(png(sample_image(54, 37)), outputs=["out"]))
    finally:
        engine.close()


def test_concurrent_requests_each_get_their_own_result(tmp_path: Path, engine_for) -> None:
    spec = image_spec()
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": spec}]},
    )
    engine = engine_for(blobs)
    images = [sample_image(seed=seed) for seed in range(12)]
    results: dict[int, np.ndarray] = {}

    def run(index: int) -> None:
        results[index] = tensor_of(
            engine.infer(network, request(png(images[index]), outputs=["out"]))
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, image in enumerate(images):
        np.testing.assert_array_equal(results[index], reference(image, spec, None))


def test_cache_keeps_at_most_max_models_and_reloads(tmp_path: Path, engine_for) -> None:
    files = builders.onnx_identity(tmp_path / "m")
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    first, blobs = make_network(files, "onnx", preprocessing, network_id=1)
    second, _ = make_network(files, "onnx", preprocessing, network_id=2)
    engine = engine_for(blobs, max_models=1)
    image = png(sample_image())
    expected = tensor_of(engine.infer(first, request(image, outputs=["out"])))
    engine.infer(second, request(image, outputs=["out"]))
    assert engine._models._models.keys() == {2}
    np.testing.assert_array_equal(
        tensor_of(engine.infer(first, request(image, outputs=["out"]))), expected
    )
    engine.evict(1)
    np.testing.assert_array_equal(
        tensor_of(engine.infer(first, request(image, outputs=["out"]))), expected
    )


def test_an_id_naming_other_files_gets_its_own_model(tmp_path: Path, engine_for) -> None:
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    identity, blobs = make_network(builders.onnx_identity(tmp_path / "a"), "onnx", preprocessing)
    cnn_files = builders.onnx_small_cnn(tmp_path / "b", height=16, width=24)
    cnn, cnn_blobs = make_network(cnn_files, "onnx", preprocessing)
    assert identity.id == cnn.id
    engine = engine_for({**blobs, **cnn_blobs})
    image = png(sample_image())
    assert tensor_of(engine.infer(identity, request(image, outputs=["out"]))).shape == (
        1,
        3,
        16,
        24,
    )
    assert tensor_of(engine.infer(cnn, request(image, outputs=["prob"]))).shape == (1, 5)


def test_a_failed_load_is_reported_to_every_caller_and_retried(tmp_path: Path, engine_for) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    network, blobs = make_network(
        {"model.onnx": broken}, "onnx", {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    )
    engine = engine_for(blobs)
    for _ in range(2):
        with pytest.raises(ModelError):
            engine.deploy(network)
    assert engine._models._loading == {}
    assert list(engine._models._root.iterdir()) == []


def test_model_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    models = tmp_path / "engine" / "models"
    dead, alive = models / "999999999-x" / "1-y", models / f"{os.getpid()}-z"
    dead.mkdir(parents=True)
    alive.mkdir()
    engine = Engine(engine_settings(tmp_path), {}.__getitem__)
    try:
        assert not dead.parent.exists() and alive.exists()
        own = engine._models._root
        assert own.parent == models and own.exists()
    finally:
        engine.close()
    assert not own.exists()


def mean_image(spec: dict, seed: int = 5) -> np.ndarray:
    """A C x 13 x 11 mean image (another spatial size than the input: resized)."""
    channels = 1 if spec["color_channels"] == "L" else 3
    return np.random.default_rng(seed).uniform(0, 1, (channels, 13, 11)).astype(np.float32)


def reference_mean(chw: np.ndarray, spec: dict, tensor_shape: tuple[int, ...]) -> np.ndarray:
    """The mean image resized to the input and laid out like the tensor (no N)."""
    order = spec["dimension_order"]
    hw = {"NCHW": (2, 3), "NCWH": (3, 2), "NHWC": (1, 2), "NWHC": (2, 1)}[order]
    height, width = tensor_shape[hw[0]], tensor_shape[hw[1]]
    hwc = cv2.resize(chw.transpose(1, 2, 0), (width, height), interpolation=cv2.INTER_LINEAR)
    hwc = hwc.reshape(height, width, chw.shape[0])
    axes = {"NCHW": (2, 0, 1), "NHWC": (0, 1, 2), "NCWH": (2, 1, 0), "NWHC": (1, 0, 2)}[order]
    return hwc.transpose(axes)


def write_mean(folder: Path, chw: np.ndarray, spec: dict, kind: str) -> Path:
    if kind == "binaryproto":
        from vulcain.caffe_proto import BlobProto

        blob = BlobProto(num=1, channels=chw.shape[0], height=chw.shape[1], width=chw.shape[2])
        blob.data.extend(chw.ravel().tolist())
        path = folder / "mean.binaryproto"
        path.write_bytes(blob.SerializeToString())
        return path
    axes = {"NCHW": (0, 1, 2), "NCWH": (0, 2, 1), "NHWC": (1, 2, 0), "NWHC": (2, 1, 0)}
    path = folder / "mean.npy"
    np.save(path, chw.transpose(axes[spec["dimension_order"]]), allow_pickle=False)
    return path


IDENTITY_BUILDERS = {
    "onnx": (builders.onnx_identity, "data", "out", ("NCHW", "NCWH")),
    "nv-caffe-0.x-mod": (builders.caffe_identity, "data", "out", ("NCHW", "NCWH")),
    "tensorflow-1.x": (builders.tf_identity, "input", "output", ("NHWC", "NWHC")),
}
MATRIX = [
    (framework, order, resize, target, color, mean)
    for framework, (_, _, _, orders) in IDENTITY_BUILDERS.items()
    for order in orders
    for resize, target in (
        ("SQUASH", "24x16"),
        ("CROP", "18"),
        ("FILL", "20x30"),
        ("NETWORK", "28"),
    )
    for color, mean in (("BGR", None), ("RGB", "npy"), ("L", "binaryproto"))
]


@pytest.fixture(scope="module")
def identity_files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    built: dict[tuple[str, int], dict] = {}
    for framework, (build, input_name, _, _) in IDENTITY_BUILDERS.items():
        for channels in (1, 3):
            folder = tmp_path_factory.mktemp(f"{framework}-{channels}")
            built[framework, channels] = build(folder, input_name=input_name, channels=channels)
    return built


@pytest.mark.parametrize(
    ("framework", "order", "resize", "target", "color", "mean"),
    MATRIX,
    ids=["-".join(str(part) for part in case) for case in MATRIX],
)
def test_identity_networks_match_the_reference(
    tmp_path: Path, engine_for, identity_files, framework, order, resize, target, color, mean
) -> None:
    _, input_name, output_name, _ = IDENTITY_BUILDERS[framework]
    spec = image_spec(
        dimension_order=order,
        resize_type=resize,
        target_size=target,
        color_channels=color,
        pixel_scaling=1.0 if mean else 255.0,
    )
    files = dict(identity_files[framework, 1 if color == "L" else 3])
    chw = None
    if mean is not None:
        chw = mean_image(spec)
        path = write_mean(tmp_path, chw, spec, mean)
        files[path.name] = path
        spec["mean_file"] = path.name
    network, blobs = make_network(
        files, framework, {"inputs": [{"tensor_name": input_name, "image": spec}]}
    )
    engine = engine_for(blobs)
    engine.deploy(network)
    image = sample_image()
    result = tensor_of(engine.infer(network, request(png(image), outputs=[output_name])))
    expected = reference(image, spec, None)
    if chw is not None:
        expected = expected - reference_mean(chw, spec, expected.shape)[None]
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_polygon_whitens_outside_and_crops_to_its_box(tmp_path: Path, engine_for) -> None:
    spec = image_spec(target_size="20x20")
    network, blobs = make_network(
        builders.onnx_identity(tmp_path / "m"),
        "onnx",
        {"inputs": [{"tensor_name": "data", "image": spec}]},
    )
    image = sample_image(40, 40)
    polygon = [{"x": 0.25, "y": 0.25}, {"x": 0.75, "y": 0.25}, {"x": 0.25, "y": 0.75}]
    result = tensor_of(
        engine_for(blobs).infer(network, request(png(image), outputs=["out"], polygon=polygon))
    )
    crop = image[10:30, 10:30].copy()
    mask = np.zeros((20, 20), np.uint8)
    cv2.fillPoly(mask, [np.array([[0, 0], [20, 0], [0, 20]], np.int32)], 1)
    inside = mask.astype(bool)
    whitened = np.where(inside[:, :, None], crop, 255).astype(np.uint8)
    expected = reference(whitened, spec, None)
    # Pixels on the polygon's edge may go either way; the rest must match exactly.
    diagonal = np.abs(np.add.outer(np.arange(20), np.arange(20)) - 19) <= 1
    np.testing.assert_array_equal(result[0][:, ~diagonal], expected[0][:, ~diagonal])


def test_the_cache_evicts_by_memory_budget(tmp_path: Path) -> None:
    preprocessing = {"inputs": [{"tensor_name": "data", "image": image_spec()}]}
    networks, blobs = [], {}
    for network_id in (1, 2, 3):
        files = builders.onnx_small_cnn(tmp_path / str(network_id), height=16, width=24)
        network, more = make_network(files, "onnx", preprocessing, network_id=network_id)
        networks.append(network)
        blobs.update(more)
    image = png(sample_image())
    weights = (tmp_path / "3" / "model.onnx").stat().st_size
    for budget_mb, kept in ((1.5 * weights / 2**20, {3}), (1024, {1, 2, 3})):
        settings = engine_settings(tmp_path / f"budget-{budget_mb}", models_memory_mb=budget_mb)
        engine = Engine(settings, blobs.__getitem__)
        try:
            for network in networks:
                engine.infer(network, request(image, outputs=["prob"]))
            models = engine._models._models
            assert set(models) == kept
            assert all(model.memory_bytes >= weights for model in models.values())
        finally:
            engine.close()
