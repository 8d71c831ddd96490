"""The public objects of the Networks API as pydantic models.

The preprocessing models are shared by the API (validation of what users upload) and by
the inference code (what to do to each image), so they live here, below both.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

DimensionOrder = Literal["NCHW", "NCWH", "NHWC", "NWHC"]
ResizeType = Literal["SQUASH", "CROP", "FILL", "NETWORK"]
ColorChannels = Literal["RGB", "BGR", "L"]
DataType = Literal["FLOAT32"]

MAX_POLYGON_POINTS = "max_polygon_points"
"""Key of the validation context that bounds the points of ``ImageInput.polygon`` (the
setting ``VULCAIN_MAX_POLYGON_POINTS``, which the API passes)."""
MEAN_FILE_SUFFIXES = (".binaryproto", ".npy")
MAX_TARGET_SIDE = 4096
"""Largest side of a target size: a larger one would let one request allocate gigabytes."""
MAX_PIXEL_SCALING = 1e6
"""Largest ``pixel_scaling``: far above any network's input range, and far below what
overflows float32 once multiplied by a pixel (1e308 made every tensor value infinite)."""
_TARGET_SIZE = re.compile(r"^\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?$")


_INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
"""What users send: no unknown field, and no NaN or Infinity (JSON has neither; pydantic
would otherwise take ``"inf"`` or ``"NaN"`` from a form field)."""

_STORED = {"stored": True}
"""Validation context of data read back from the database: rules added after it was written
(the bound on ``pixel_scaling``) are not applied to it, so that reading it never fails."""


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class ImagePreprocessing(BaseModel):
    """How one image input is turned into a tensor (docs/preprocessing.md)."""

    model_config = _INPUT

    dimension_order: DimensionOrder = "NCHW"
    resize_type: ResizeType = "SQUASH"
    target_size: str
    color_channels: ColorChannels = "BGR"
    pixel_scaling: float = Field(
        default=255.0,
        allow_inf_nan=True,  # refused by the check below, unless read back from storage
        json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_PIXEL_SCALING},
    )
    mean_file: str | None = None
    data_type: DataType = "FLOAT32"

    _normalize_case = field_validator(
        "dimension_order", "resize_type", "color_channels", "data_type", mode="before"
    )(_upper)

    @field_validator("target_size")
    @classmethod
    def _check_target_size(cls, value: str) -> str:
        match = _TARGET_SIZE.match(value)
        sides = [int(side) for side in match.groups() if side is not None] if match else []
        if not sides or min(sides) <= 0:
            raise ValueError("must be 'WxH' or 'N' with positive integers, e.g. '224x224'")
        if max(sides) > MAX_TARGET_SIDE:
            raise ValueError(f"sides may not exceed {MAX_TARGET_SIDE} pixels")
        return value.strip()

    @field_validator("pixel_scaling")
    @classmethod
    def _check_pixel_scaling(cls, value: float, info: ValidationInfo) -> float:
        stored = info.context is _STORED
        if not stored and not (0 < value <= MAX_PIXEL_SCALING):  # False for NaN too
            raise ValueError(
                f"must be a finite number greater than 0 and at most {MAX_PIXEL_SCALING:g}"
            )
        return value

    @field_validator("mean_file")
    @classmethod
    def _check_mean_file(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.endswith(MEAN_FILE_SUFFIXES):
            raise ValueError("must end in .binaryproto or .npy")
        return value

    @cached_property
    def target(self) -> tuple[int, int] | int:
        """``(width, height)`` for a ``WxH`` target, or ``N`` for a single-number target."""
        match = _TARGET_SIZE.match(self.target_size)
        assert match is not None
        width, height = match.groups()
        return int(width) if height is None else (int(width), int(height))

    @property
    def channels(self) -> int:
        return 1 if self.color_channels == "L" else 3


class InputPreprocessing(BaseModel):
    model_config = _INPUT

    tensor_name: str = Field(min_length=1)
    image: ImagePreprocessing


class Preprocessing(BaseModel):
    """The preprocessing object of a network: one entry per network input, in order."""

    model_config = _INPUT

    inputs: list[InputPreprocessing] = Field(min_length=1)
    batched_output: bool = True

    @classmethod
    def from_stored(cls, data: Any) -> Preprocessing:
        """A preprocessing read from the database, which was valid when it was written."""
        return cls.model_validate(data, context=_STORED)

    @field_validator("inputs")
    @classmethod
    def _check_unique_tensor_names(
        cls, inputs: list[InputPreprocessing]
    ) -> list[InputPreprocessing]:
        names = [entry.tensor_name for entry in inputs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each tensor_name may be fed once; repeated: {', '.join(repeated)}")
        return inputs


class BoundingBox(BaseModel):
    """A box relative to the image size, every coordinate in [0, 1]."""

    model_config = _INPUT

    xmin: float = Field(ge=0, le=1)
    ymin: float = Field(ge=0, le=1)
    xmax: float = Field(ge=0, le=1)
    ymax: float = Field(ge=0, le=1)


class Point(BaseModel):
    model_config = _INPUT

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class ImageInput(BaseModel):
    """One image to infer on. ``source`` is a URL, a ``data:image/*;...`` string, or the
    raw bytes of an uploaded file part."""

    model_config = _INPUT

    source: str | bytes
    bbox: BoundingBox | None = None
    polygon: list[Point] | None = Field(default=None, min_length=3)
    crop_uniform_background: bool = False

    @field_validator("polygon", mode="before")
    @classmethod
    def _bounded_polygon(cls, value: object, info: ValidationInfo) -> object:
        """Count the points before any is validated: a bound checked in constant time."""
        limit = (info.context or {}).get(MAX_POLYGON_POINTS)
        if limit is not None and isinstance(value, list | tuple) and len(value) > limit:
            raise ValueError(
                f"has {len(value)} points, more than the {limit} allowed "
                "(VULCAIN_MAX_POLYGON_POINTS); send a polygon with fewer points"
            )
        return value


class InferenceInput(BaseModel):
    model_config = _INPUT

    image: ImageInput


class InferenceRequest(BaseModel):
    """The body of ``POST .../inference``."""

    model_config = _INPUT

    inputs: list[InferenceInput] = Field(min_length=1)
    output_tensors: list[str] = Field(min_length=1)


def iso_utc(value: datetime) -> str:
    """``value`` in ISO 8601 UTC with microseconds and a ``Z``."""
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


UtcDatetime = Annotated[datetime, PlainSerializer(iso_utc, return_type=str, when_used="json")]
"""A datetime shown as ISO 8601 UTC with a ``Z``, e.g. ``2018-02-16T16:37:25.148189Z``."""


class TaskStatus(StrEnum):
    """Where a task is: ``pending`` until it ends, once, in ``success`` or ``error``
    (:mod:`vulcain.db.task_writes` writes every change). The values are what the database
    stores and the API answers."""

    PENDING = "pending"
    SUCCESS = "success"
    ERROR = "error"


class TaskKind(StrEnum):
    """What a task does: deploy a network, or run one inference on it."""

    DEPLOY = "deploy"
    INFERENCE = "inference"


class _NetworkView(BaseModel):
    """The fields of a network, whichever path it is seen through."""

    id: int | str
    name: str
    description: str
    metadata: dict[str, Any]
    framework: str
    preprocessing: Preprocessing
    task_id: int
    public_id: str | None = None
    create_date: UtcDatetime
    update_date: UtcDatetime


class Network(_NetworkView):
    """A network as its owner sees it under ``/networks/{id}``: ``id`` is its integer id,
    ``public_id`` its slug once published (``null`` before)."""

    id: int


class PublicNetwork(_NetworkView):
    """A published network as anyone sees it under ``/networks/public/...``: ``id`` is its
    slug (the spec's NETWORK_ID "may be a string for a public network"), so a client that
    builds a URL from ``id`` stays on the public paths; ``public_id`` repeats it."""

    id: str
    public_id: str

    @classmethod
    def of(cls, network: Network) -> PublicNetwork:
        """``network`` (which must be published) as seen under the public paths."""
        if network.public_id is None:
            raise ValueError(f"network {network.id} is not published")
        return cls(**{**dict(network), "id": network.public_id})


class NetworkUpdate(BaseModel):
    """The body of a PATCH: only these fields may change; ``None`` leaves a field as is."""

    model_config = _INPUT

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    metadata: dict[str, Any] | None = None


class Task(BaseModel):
    """A deployment or inference task. ``data`` holds the result of a successful task."""

    id: int
    name: str
    status: TaskStatus
    error: str | None = None
    data: dict[str, Any] | None = None
    create_date: UtcDatetime
    update_date: UtcDatetime


class Account(BaseModel):
    """Who a request comes from. The API key is never part of it (only its hash is kept)."""

    id: int
    name: str
    app_id: str
    is_admin: bool
    create_date: UtcDatetime
