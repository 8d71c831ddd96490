"""The inputs a deployment runs through both runtimes before serving a converted network.

Each is an image made into the network's feeds by the network's own preprocessing, so
every value lies in the preprocessed range: the warm-up image, three random images (one
of uniform noise, two smooth, as photographs are) and any real images the deployment was
given. They run one at a time (every output name compared) and, when the network takes
batches, together (final outputs compared, at a batch size above one).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vulcain.inference._model_cache import LoadedModel
from vulcain.inference.preparation import model_feeds, warmup_image

Feeds = dict[str, np.ndarray]
RANDOM_IMAGES = 3
SEED = 20261201


def _size(target: tuple[int, int] | int) -> tuple[int, int]:
    return (target, target) if isinstance(target, int) else target


def _random_images(target: tuple[int, int] | int, rng: np.random.Generator) -> list[np.ndarray]:
    """Uniform noise, then smooth images: random coarse grids resized up bilinearly."""
    width, height = _size(target)
    images: list[np.ndarray] = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8)]
    for cells in (4, 16)[: RANDOM_IMAGES - 1]:
        grid = rng.integers(0, 256, (max(2, height // cells), max(2, width // cells), 3))
        smooth = cv2.resize(grid.astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
        images.append(smooth)
    return images


def image_sets(
    model: LoadedModel, samples: Sequence[Sequence[np.ndarray]] = ()
) -> list[list[np.ndarray]]:
    """One list of images (one per preprocessing input) per comparison input."""
    entries = model.network.preprocessing.inputs
    rng = np.random.default_rng(SEED)
    randoms = [_random_images(entry.image.target, rng) for entry in entries]
    sets = [[warmup_image(entry.image.target) for entry in entries]]
    sets += [[images[index] for images in randoms] for index in range(RANDOM_IMAGES)]
    sets += [list(sample) for sample in samples if len(sample) == len(entries)]
    return sets


def single_feeds(model: LoadedModel, sets: Sequence[Sequence[np.ndarray]]) -> list[Feeds]:
    """Each image set as a batch of one."""
    return [model_feeds(model, [images]) for images in sets]


def batched_feeds(model: LoadedModel, sets: Sequence[Sequence[np.ndarray]]) -> list[Feeds]:
    """The image sets run together, in batches of same-shaped feeds (none when the network
    runs one image at a time)."""
    if not model.network.preprocessing.batched_output:
        return []
    singles = single_feeds(model, sets[1:])  # the random images and the samples
    groups: dict[tuple[tuple[str, tuple[int, ...]], ...], list[Feeds]] = {}
    for feeds in singles:
        key = tuple((name, value.shape) for name, value in sorted(feeds.items()))
        groups.setdefault(key, []).append(feeds)
    return [
        {name: np.concatenate([feeds[name] for feeds in group]) for name in group[0]}
        for group in groups.values()
        if len(group) > 1
    ]
