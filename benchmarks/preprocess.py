"""Images per second for decoding 1-megapixel JPEGs, alone and followed by preprocessing.

Run: .venv/bin/python benchmarks/preprocess.py [--images 8] [--repeats 5]
Single thread; the best of a few repetitions of each stage is reported.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import cv2
import numpy as np
from _inputs import make_jpegs

from vulcain.inference.means import fit_mean
from vulcain.inference.preprocessing import preprocess
from vulcain.inference.regions import apply_region
from vulcain.inference.sources import decode_image
from vulcain.schemas import BoundingBox, ImagePreprocessing

MAX_PIXELS = 100_000_000


def best_rate(work: Callable[[], None], count: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    jpegs = make_jpegs(args.images, width=1280, height=800)
    mean = np.array([104.0, 117.0, 123.0], np.float32).reshape(3, 1, 1)
    mean_image = np.random.default_rng(1).uniform(0, 255, (3, 256, 256)).astype(np.float32)
    # The engine fits a mean image to a fixed target once, when the network loads.
    mean_image = fit_mean(mean_image, "NCHW", (3, 224, 224))
    squash = ImagePreprocessing(target_size="224x224", resize_type="SQUASH")
    crop_rgb = ImagePreprocessing(target_size="224x224", resize_type="CROP", color_channels="RGB")
    network = ImagePreprocessing(target_size="600", resize_type="NETWORK")
    bbox = BoundingBox(xmin=0.1, ymin=0.1, xmax=0.9, ymax=0.9)
    decoded = [decode_image(data, MAX_PIXELS) for data in jpegs]

    def decode_only() -> None:
        for data in jpegs:
            decode_image(data, MAX_PIXELS)

    def pipeline(spec: ImagePreprocessing, mean_array: np.ndarray, **region: object) -> None:
        for data in jpegs:
            image = apply_region(decode_image(data, MAX_PIXELS), **region)
            preprocess(image, spec, mean_array)

    def preprocess_only(spec: ImagePreprocessing, mean_array: np.ndarray) -> None:
        for image in decoded:
            preprocess(image, spec, mean_array)

    rows = [
        ("decode only", decode_only),
        ("decode + 224x224 NCHW BGR SQUASH, mean (3,1,1)", lambda: pipeline(squash, mean)),
        (
            "decode + 224x224 NCHW BGR SQUASH, mean image 256x256",
            lambda: pipeline(squash, mean_image),
        ),
        (
            "decode + bbox + 224x224 NCHW RGB CROP, mean",
            lambda: pipeline(crop_rgb, mean, bbox=bbox),
        ),
        ("decode + NETWORK 600 NCHW BGR, mean", lambda: pipeline(network, mean)),
        ("preprocess only: 224x224 NCHW BGR SQUASH, mean", lambda: preprocess_only(squash, mean)),
    ]
    size = decoded[0].shape
    print(
        f"{args.images} JPEGs {size[1]}x{size[0]} quality 90 "
        f"(~{sum(map(len, jpegs)) // len(jpegs) // 1024} KiB each), one thread, "
        f"best of {args.repeats}, OpenCV {cv2.__version__}, {os.cpu_count()} CPUs"
    )
    width = max(len(name) for name, _ in rows)
    print(f"{'stage':<{width}}  {'images/s':>9}  {'ms/image':>9}")
    for name, work in rows:
        rate = best_rate(work, args.images, args.repeats)
        print(f"{name:<{width}}  {rate:9.1f}  {1000 / rate:9.2f}")


if __name__ == "__main__":
    main()
