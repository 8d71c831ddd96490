"""The objects of the recognition API (v0.7) as pydantic models, shared by the API (what
users send), the service (what is stored) and the task (what post-processing runs)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vulcain.schemas import InferenceInput, UtcDatetime

Roi = Literal["NONE", "BBOX"]

CLASSIFICATION_THRESHOLD = 0.025
"""Default threshold of each label of a classification (the public imagenet model's)."""
DETECTION_THRESHOLD = 0.5
DEFAULT_NMS_THRESHOLD = 0.5
DEFAULT_MAX_PREDICTIONS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Label(_Strict):
    id: int = Field(strict=True)
    name: str = Field(min_length=1, max_length=255)


class LabelsOutput(_Strict):
    labels: list[Label] = Field(min_length=1)
    exclusive: bool = False
    roi: Roi

    @field_validator("labels")
    @classmethod
    def _unique_ids(cls, labels: list[Label]) -> list[Label]:
        ids = [label.id for label in labels]
        repeated = sorted({value for value in ids if ids.count(value) > 1})
        if repeated:
            shown = ", ".join(str(value) for value in repeated)
            raise ValueError(f"label ids must be unique within an output; repeated: {shown}")
        return labels


class SpecOutput(_Strict):
    """One output of a specification (v0.7 has only label outputs)."""

    labels: LabelsOutput


def _finite(values: list[float] | None) -> list[float] | None:
    if values is not None and not all(math.isfinite(value) for value in values):
        raise ValueError("every threshold must be a finite number")
    return values


class ClassificationPostProcessing(_Strict):
    output_tensor: str = Field(min_length=1)
    thresholds: list[float] | None = None
    """One per label; filled with :data:`CLASSIFICATION_THRESHOLD` when left out."""

    _check_thresholds = field_validator("thresholds")(_finite)


class AnchoredOutput(_Strict):
    anchors_tensor: str = Field(min_length=1)
    offsets_tensor: str = Field(min_length=1)
    scores_tensor: str = Field(min_length=1)


class DirectOutput(_Strict):
    boxes_tensor: str = Field(min_length=1)
    scores_tensor: str = Field(min_length=1)
    classes_tensor: str = Field(min_length=1)


class YoloOutput(_Strict):
    output_tensor: str = Field(min_length=1)
    anchors: list[float] = Field(min_length=2)

    @field_validator("anchors")
    @classmethod
    def _pairs(cls, anchors: list[float]) -> list[float]:
        if len(anchors) % 2:
            raise ValueError("must hold (width, height) pairs: an even number of values")
        if not all(math.isfinite(value) and value > 0 for value in anchors):
            raise ValueError("every anchor side must be a finite number greater than 0")
        return anchors


OUTPUT_KINDS = ("anchored_output", "direct_output", "yolo_output")


class DetectionPostProcessing(_Strict):
    thresholds: list[float] | None = None
    """One per label; filled with :data:`DETECTION_THRESHOLD` when left out."""
    nms_threshold: float = Field(default=DEFAULT_NMS_THRESHOLD, ge=0, le=1)
    anchored_output: AnchoredOutput | None = None
    direct_output: DirectOutput | None = None
    yolo_output: YoloOutput | None = None

    _check_thresholds = field_validator("thresholds")(_finite)

    @model_validator(mode="after")
    def _one_kind(self) -> DetectionPostProcessing:
        sent = [kind for kind in OUTPUT_KINDS if getattr(self, kind) is not None]
        if len(sent) != 1:
            raise ValueError(
                "a detection needs exactly one of anchored_output, direct_output or "
                f"yolo_output (got {', '.join(sent) or 'none'})"
            )
        return self

    def tensor_names(self) -> list[str]:
        if self.anchored_output is not None:
            out = self.anchored_output
            return [out.anchors_tensor, out.offsets_tensor, out.scores_tensor]
        if self.direct_output is not None:
            direct = self.direct_output
            return [direct.boxes_tensor, direct.scores_tensor, direct.classes_tensor]
        assert self.yolo_output is not None
        return [self.yolo_output.output_tensor]


class PostProcessing(_Strict):
    classification: ClassificationPostProcessing | None = None
    detection: DetectionPostProcessing | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PostProcessing:
        if (self.classification is None) == (self.detection is None):
            raise ValueError("needs exactly one of classification or detection")
        return self

    @property
    def thresholds(self) -> list[float] | None:
        step = self.classification or self.detection
        assert step is not None
        return step.thresholds

    def tensor_names(self) -> list[str]:
        if self.classification is not None:
            return [self.classification.output_tensor]
        assert self.detection is not None
        return self.detection.tensor_names()


class SpecCreate(_Strict):
    """The body of ``POST /recognition/specs``."""

    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    outputs: list[SpecOutput] = Field(min_length=1)
    current_version_id: Any = Field(default=None, json_schema_extra={"readOnly": True})
    """Refused: a spec has no version when it is created."""


class SpecUpdate(_Strict):
    """What a PATCH may change; a field left out stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    metadata: dict[str, Any] | None = None
    current_version_id: int | None = None


class SpecPatch(SpecUpdate):
    """The body of ``PATCH``/``PUT /recognition/specs/{id}``: :class:`SpecUpdate`, plus
    ``outputs`` so that sending it gets a sentence saying why instead of "unknown field"."""

    outputs: Any = None

    def changes(self) -> dict[str, Any]:
        """The fields sent, ``current_version_id: None`` included when it was sent."""
        return {
            name: getattr(self, name)
            for name in SpecUpdate.model_fields
            if name in self.model_fields_set
        }


class PublishSpec(_Strict):
    public_id: str = Field(min_length=1, max_length=255)


class SpecSummary(BaseModel):
    """A spec in a list of the owner's specs (``outputs`` left out)."""

    id: int
    name: str
    description: str
    metadata: dict[str, Any]
    update_date: UtcDatetime
    current_version_id: int | None


class Spec(SpecSummary):
    """A spec as its owner sees it under ``/recognition/specs/{id}``."""

    outputs: list[SpecOutput]


class PublicSpecSummary(BaseModel):
    """A published spec in the public list: ``id`` is its slug."""

    id: str
    name: str
    description: str
    metadata: dict[str, Any]
    update_date: UtcDatetime


class PublicSpec(PublicSpecSummary):
    """A published spec under ``/recognition/public/{slug}``."""

    outputs: list[SpecOutput]


class VersionCreate(_Strict):
    """The body of ``POST /recognition/versions``."""

    spec_id: int = Field(strict=True)
    network_id: int | str
    """An integer id of one of your networks, or the slug of a public network."""
    post_processings: list[PostProcessing] = Field(min_length=1)


class Version(BaseModel):
    id: int
    spec_id: int
    spec_name: str
    network_id: int
    network_name: str
    post_processings: list[dict[str, Any]]
    """As :class:`PostProcessing`, thresholds filled in, kinds not used left out."""
    update_date: UtcDatetime


class RecognitionInferenceRequest(_Strict):
    """The body of ``POST /recognition/{specs|public|versions}/{id}/inference``."""

    inputs: list[InferenceInput] = Field(min_length=1)
    show_discarded: bool = False
    max_predictions: int = Field(default=DEFAULT_MAX_PREDICTIONS, ge=1, le=100_000)
