"""What a recognition inference does after the forward pass, fixed when it is accepted
and stored with its task: the spec's labels and the version's post-processings."""

from __future__ import annotations

from pydantic import BaseModel

from vulcain.recognition.schemas import (
    CLASSIFICATION_THRESHOLD,
    DETECTION_THRESHOLD,
    PostProcessing,
    Roi,
    SpecOutput,
)


class PlannedOutput(BaseModel):
    """One output of the spec with the post-processing that fills it."""

    label_ids: list[int]
    label_names: list[str]
    roi: Roi
    exclusive: bool
    post_processing: PostProcessing
    """Thresholds filled in, one per label."""


class RecognitionPlan(BaseModel):
    outputs: list[PlannedOutput]
    show_discarded: bool
    max_predictions: int

    def tensor_names(self) -> list[str]:
        """Every tensor the post-processings read, once each, in order."""
        names = (name for output in self.outputs for name in output.post_processing.tensor_names())
        return list(dict.fromkeys(names))

    @property
    def framed(self) -> bool:
        """Whether an output has boxes (mapped back to the image the request sent)."""
        return any(output.post_processing.detection is not None for output in self.outputs)


def filled(post_processing: PostProcessing, label_count: int) -> PostProcessing:
    """``post_processing`` with its default thresholds written out."""
    if post_processing.thresholds is not None:
        return post_processing
    if post_processing.classification is not None:
        step = post_processing.classification.model_copy(
            update={"thresholds": [CLASSIFICATION_THRESHOLD] * label_count}
        )
        return post_processing.model_copy(update={"classification": step})
    assert post_processing.detection is not None
    detection = post_processing.detection.model_copy(
        update={"thresholds": [DETECTION_THRESHOLD] * label_count}
    )
    return post_processing.model_copy(update={"detection": detection})


def make_plan(
    outputs: list[SpecOutput],
    post_processings: list[PostProcessing],
    *,
    show_discarded: bool,
    max_predictions: int,
) -> RecognitionPlan:
    """The plan of a version (whose post-processings were checked against the spec's
    outputs when it was created); thresholds left out get their defaults."""
    return RecognitionPlan(
        outputs=[
            PlannedOutput(
                label_ids=[label.id for label in output.labels.labels],
                label_names=[label.name for label in output.labels.labels],
                roi=output.labels.roi,
                exclusive=output.labels.exclusive,
                post_processing=filled(step, len(output.labels.labels)),
            )
            for output, step in zip(outputs, post_processings, strict=True)
        ],
        show_discarded=show_discarded,
        max_predictions=max_predictions,
    )
