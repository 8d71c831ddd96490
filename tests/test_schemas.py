"""The preprocessing schema refuses what cannot be served, with sentences naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vulcain.schemas import MAX_TARGET_SIDE, Preprocessing


def preprocessing(*images: dict, names: list[str] | None = None) -> dict:
    names = names or [f"input{i}" for i in range(len(images))]
    return {"inputs": [{"tensor_name": n, "image": i} for n, i in zip(names, images, strict=True)]}


@pytest.mark.parametrize(
    ("target_size", "target"),
    [("224x224", (224, 224)), ("640X480", (640, 480)), (" 32 ", 32), ("4096x1", (4096, 1))],
)
def test_target_sizes_parse(target_size: str, target: tuple[int, int] | int) -> None:
    parsed = Preprocessing.model_validate(preprocessing({"target_size": target_size}))
    assert parsed.inputs[0].image.target == target


@pytest.mark.parametrize("target_size", ["0x10", "abc", "10x", "-3", "1.5x2", ""])
def test_malformed_target_sizes_are_refused(target_size: str) -> None:
    with pytest.raises(ValidationError, match="must be 'WxH' or 'N'"):
        Preprocessing.model_validate(preprocessing({"target_size": target_size}))


@pytest.mark.parametrize("target_size", [f"{MAX_TARGET_SIDE + 1}x10", "100000x100000", "5000"])
def test_targets_larger_than_the_cap_are_refused(target_size: str) -> None:
    with pytest.raises(ValidationError, match=f"may not exceed {MAX_TARGET_SIDE}") as error:
        Preprocessing.model_validate(preprocessing({"target_size": target_size}))
    assert error.value.errors()[0]["loc"] == ("inputs", 0, "image", "target_size")


def test_a_tensor_fed_twice_is_refused() -> None:
    images = [{"target_size": "8"}] * 3
    with pytest.raises(ValidationError, match="repeated: data") as error:
        Preprocessing.model_validate(preprocessing(*images, names=["data", "other", "data"]))
    assert error.value.errors()[0]["loc"] == ("inputs",)


def test_enumerations_accept_any_case_and_mean_files_need_a_known_suffix() -> None:
    image = {"target_size": "8", "resize_type": "crop", "color_channels": "rgb"}
    parsed = Preprocessing.model_validate(preprocessing(image)).inputs[0].image
    assert (parsed.resize_type, parsed.color_channels) == ("CROP", "RGB")
    with pytest.raises(ValidationError, match=r"must end in \.binaryproto or \.npy"):
        Preprocessing.model_validate(preprocessing({"target_size": "8", "mean_file": "m.txt"}))
