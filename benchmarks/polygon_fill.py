"""What a request's polygon costs to fill, by its number of points: the figures behind
VULCAIN_MAX_POLYGON_POINTS (1000) and VULCAIN_IMAGE_CPU_SECONDS (10).

Run from the repository root:

    .venv/bin/python benchmarks/polygon_fill.py

For each shape, points and image size it prints the CPU time of
:func:`vulcain.inference.regions.mask_polygon` on this thread (the fill's cost grows faster
than its points: random points make edges that cross all over the image), and how many
times the budget of one image that is.
"""

from __future__ import annotations

import time

import numpy as np

from vulcain.config import Settings
from vulcain.inference.regions import mask_polygon
from vulcain.schemas import Point


def random_points(count: int) -> list[Point]:
    xy = np.random.default_rng(0).random((count, 2))
    return [Point(x=float(x), y=float(y)) for x, y in xy]


def zigzag(count: int) -> list[Point]:
    """Edges from top to bottom and back, each crossing the image's whole height."""
    return [Point(x=index / count, y=0.0 if index % 2 == 0 else 1.0) for index in range(count)]


def main() -> None:
    budget = Settings(_env_file=None).image_cpu_seconds  # type: ignore[call-arg]
    print(f"{'shape':8} {'points':>7} {'image':>11} {'CPU s':>8} {'of budget':>10}")
    for height, width in ((1000, 1000), (10_000, 1000)):
        image = np.zeros((height, width, 3), np.uint8)
        for shape, build in (("random", random_points), ("zigzag", zigzag)):
            for count in (100, 1000, 4000):
                polygon = build(count)
                started = time.thread_time()
                mask_polygon(image, polygon)
                spent = time.thread_time() - started
                size = f"{width}x{height}"
                print(f"{shape:8} {count:>7} {size:>11} {spent:>8.3f} {spent / budget:>9.1%}")


if __name__ == "__main__":
    main()
