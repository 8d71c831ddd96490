"""Faster-RCNN's proposal layer (py-faster-rcnn's ``rpn.proposal_layer``, TEST phase) as a
pure numpy function, and the OpenCV DNN layer that runs it inside a Caffe network.

OpenCV's own ``Proposal`` layer differs from the layer a Faster-RCNN network was trained
with: it never drops boxes smaller than ``min_size`` (scaled by the image's ``im_info``
scale), so it keeps slivers clipped at the image border that the reference discards, and
its proposals and their order differ from the reference's at any scale. This one follows
the reference step by step: anchors of ``base_size`` for every ratio and scale, shifted
over the feature map; deltas applied (widths counted ``x2 - x1 + 1``); boxes clipped to the
image; boxes under ``min_size * scale`` dropped; the ``pre_nms_topn`` best scores kept; NMS
at ``nms_thresh`` (overlap with the same ``+ 1`` areas); the ``post_nms_topn`` first kept.

An OpenCV layer has a fixed output shape, so ``rois`` has ``post_nms_topn`` rows per image:
the proposals first, best first, then rows of zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

LAYER_TYPE = "VulcainProposal"
"""The layer type a Python proposal layer with one top (``rois``) becomes."""
LAYER_TYPE_WITH_SCORES = "VulcainProposalScores"
"""The layer type of a proposal layer with a second top (each proposal's score)."""


@dataclass(frozen=True)
class ProposalParams:
    feat_stride: int = 16
    base_size: int = 16
    min_size: int = 16
    pre_nms_topn: int = 6000
    post_nms_topn: int = 300
    nms_thresh: float = 0.7
    ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    scales: tuple[float, ...] = (8.0, 16.0, 32.0)

    @classmethod
    def from_layer_params(cls, params: Mapping[str, Any]) -> ProposalParams:
        """From the ``proposal_param`` fields OpenCV hands a layer (``ratio`` and
        ``scale`` repeated)."""

        def numbers(key: str, default: tuple[float, ...]) -> tuple[float, ...]:
            value = params.get(key)
            if value is None:
                return default
            items = value if isinstance(value, list | tuple) else [value]
            return tuple(float(item) for item in items)

        defaults = cls()
        return cls(
            feat_stride=int(params.get("feat_stride", defaults.feat_stride)),
            base_size=int(params.get("base_size", defaults.base_size)),
            min_size=int(params.get("min_size", defaults.min_size)),
            pre_nms_topn=int(params.get("pre_nms_topn", defaults.pre_nms_topn)),
            post_nms_topn=int(params.get("post_nms_topn", defaults.post_nms_topn)),
            nms_thresh=float(params.get("nms_thresh", defaults.nms_thresh)),
            ratios=numbers("ratio", defaults.ratios),
            scales=numbers("scale", defaults.scales),
        )


def anchors(base_size: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """The ``(ratios x scales, 4)`` anchors centred on the first ``base_size`` cell, each
    ratio's size rounded half to even as the reference's ``generate_anchors`` does."""
    centre = (base_size - 1) / 2
    ratio_widths = np.round(np.sqrt(base_size * base_size / np.asarray(ratios, np.float64)))
    ratio_heights = np.round(ratio_widths * np.asarray(ratios, np.float64))
    widths = (ratio_widths[:, None] * np.asarray(scales, np.float64)[None, :]).ravel()
    heights = (ratio_heights[:, None] * np.asarray(scales, np.float64)[None, :]).ravel()
    half_w, half_h = (widths - 1) / 2, (heights - 1) / 2
    return np.stack([centre - half_w, centre - half_h, centre + half_w, centre + half_h], axis=1)


def propose(
    scores: np.ndarray, deltas: np.ndarray, im_info: np.ndarray, params: ProposalParams
) -> tuple[np.ndarray, np.ndarray]:
    """The proposals of one image: ``(k, 5)`` rows ``[0, x1, y1, x2, y2]`` best first, and
    their ``(k,)`` scores. ``scores`` is ``[1, 2A, H, W]`` (background then object),
    ``deltas`` ``[1, 4A, H, W]``, ``im_info`` ``[height, width, scale]`` (scale 1 if absent)."""
    base = anchors(params.base_size, params.ratios, params.scales)
    count = len(base)
    height, width = scores.shape[-2:]
    stride = params.feat_stride
    xs, ys = np.meshgrid(np.arange(width) * stride, np.arange(height) * stride)
    shifts = np.stack([xs.ravel(), ys.ravel(), xs.ravel(), ys.ravel()], axis=1)
    boxes = (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)
    object_scores = scores[0, count:].transpose(1, 2, 0).reshape(-1).astype(np.float64)
    moves = deltas[0].transpose(1, 2, 0).reshape(-1, 4).astype(np.float64)

    widths = boxes[:, 2] - boxes[:, 0] + 1
    heights = boxes[:, 3] - boxes[:, 1] + 1
    centre_x = boxes[:, 0] + widths / 2 + moves[:, 0] * widths
    centre_y = boxes[:, 1] + heights / 2 + moves[:, 1] * heights
    half_w, half_h = np.exp(moves[:, 2]) * widths / 2, np.exp(moves[:, 3]) * heights / 2
    info = [float(value) for value in np.ravel(im_info)]
    image_h, image_w = info[:2]
    scale = info[2] if len(info) > 2 else 1.0
    proposals = np.stack(
        [
            np.clip(centre_x - half_w, 0, image_w - 1),
            np.clip(centre_y - half_h, 0, image_h - 1),
            np.clip(centre_x + half_w, 0, image_w - 1),
            np.clip(centre_y + half_h, 0, image_h - 1),
        ],
        axis=1,
    )
    smallest = params.min_size * scale
    large = (proposals[:, 2] - proposals[:, 0] + 1 >= smallest) & (
        proposals[:, 3] - proposals[:, 1] + 1 >= smallest
    )
    proposals, object_scores = proposals[large], object_scores[large]
    order = np.argsort(-object_scores, kind="stable")[: params.pre_nms_topn]
    proposals, object_scores = proposals[order], object_scores[order]
    kept = _nms(proposals, params.nms_thresh)[: params.post_nms_topn]
    rois = np.concatenate([np.zeros((len(kept), 1)), proposals[kept]], axis=1)
    return rois, object_scores[kept]


def _nms(boxes: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression of ``boxes`` sorted best first; the indexes kept.
    Areas count ``+ 1`` pixels as the reference's do (OpenCV's ``NMSBoxes`` does not)."""
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    remaining = np.arange(len(boxes))
    kept: list[int] = []
    while remaining.size:
        best, others = remaining[0], remaining[1:]
        kept.append(int(best))
        inter_w = np.minimum(boxes[best, 2], boxes[others, 2]) - np.maximum(
            boxes[best, 0], boxes[others, 0]
        )
        inter_h = np.minimum(boxes[best, 3], boxes[others, 3]) - np.maximum(
            boxes[best, 1], boxes[others, 1]
        )
        inter = np.maximum(0, inter_w + 1) * np.maximum(0, inter_h + 1)
        overlap = inter / (areas[best] + areas[others] - inter)
        remaining = others[overlap <= threshold]
    return np.asarray(kept, dtype=np.int64)


class _ProposalLayer:
    """An OpenCV DNN layer (``cv2.dnn_registerLayer``) running :func:`propose` on each
    image of the batch: image ``i``'s ``post_nms_topn`` rows come ``i``-th, their first
    column ``i``. An exception must not leave ``forward`` (it would end the process, from
    inside OpenCV): it is logged and the image gets no proposals."""

    with_scores = False

    def __init__(self, params: Mapping[str, Any], blobs: object) -> None:
        self._params = ProposalParams.from_layer_params(params)

    def getMemoryShapes(self, inputs: Sequence[Sequence[int]]) -> list[list[int]]:
        rows = self._params.post_nms_topn * max(1, int(inputs[0][0]))
        return [[rows, 5], [rows, 1]] if self.with_scores else [[rows, 5]]

    def forward(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        scores, deltas, im_info = inputs[:3]
        rows = self._params.post_nms_topn
        padded = np.zeros((rows * scores.shape[0], 5), np.float32)
        padded_scores = np.zeros((rows * scores.shape[0], 1), np.float32)
        for image in range(scores.shape[0]):
            try:
                info = im_info.reshape(-1, im_info.shape[-1])
                rois, kept = propose(
                    scores[image : image + 1],
                    deltas[image : image + 1],
                    info[min(image, len(info) - 1)],
                    self._params,
                )
            except Exception:
                logger.exception("the proposal layer failed on image %d of its batch", image)
                continue
            start = image * rows
            padded[start : start + len(rois)] = rois
            padded[start : start + len(rois), 0] = image
            padded_scores[start : start + len(rois), 0] = kept
        return [padded, padded_scores] if self.with_scores else [padded]


class _ProposalLayerWithScores(_ProposalLayer):
    with_scores = True


def register() -> None:
    """Make OpenCV DNN build :data:`LAYER_TYPE` layers with :func:`propose` (idempotent)."""
    cv2.dnn_registerLayer(LAYER_TYPE, _ProposalLayer)
    cv2.dnn_registerLayer(LAYER_TYPE_WITH_SCORES, _ProposalLayerWithScores)
