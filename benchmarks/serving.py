"""How close Vulcain's HTTP API comes to the raw runtime, on this machine, in one run.

Run from the repository root:

    .venv/bin/python benchmarks/serving.py --json out.json [--quick]
    .venv/bin/python benchmarks/serving.py --prototxt deploy.prototxt \
        --caffemodel snapshot.caffemodel [--mean mean.binaryproto]

Measures (a) the Caffe runtime alone on preprocessed tensors (best throughput over batch
sizes, single-image latency); (b) a real ``vulcain serve`` subprocess fed the same 640x480
JPEGs through the Python client with long-poll, as base64 in JSON and as multipart uploads,
at several concurrencies; (c) requests/s for a near-free ONNX identity on a tiny image; and
the resident memory one loaded model costs. Without a model, a ResNet-50-shaped Caffe
network with random weights is built once and cached. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import numpy as np
from _inputs import build_identity_onnx, make_jpegs
from _load import LoadResult, image_inputs, run_load
from _raw import RawResult, best_of, measure_raw, preprocessed_tensors
from _report import machine_info, print_report, ratios, targets
from _resnet import build_resnet50
from _server import ServerProcess

from vulcain.client import Client
from vulcain.frameworks import CAFFE, ONNX
from vulcain.runtimes import load_runtime
from vulcain.schemas import ImagePreprocessing

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vulcain-benchmarks"
ENCODINGS = {"api": "json", "api_multipart": "multipart"}
DEPLOY_TIMEOUT_S = 600.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prototxt", type=Path, help="your deploy.prototxt")
    parser.add_argument("--caffemodel", type=Path, help="your snapshot.caffemodel")
    parser.add_argument("--mean", type=Path, help="mean file (.binaryproto or .npy)")
    parser.add_argument("--target-size", help="WxH, when the prototxt does not fix it")
    parser.add_argument("--pixel-scaling", type=float, default=255.0)
    parser.add_argument("--color-channels", default="BGR", choices=["BGR", "RGB"])
    parser.add_argument("--image-size", default="640x480", help="WxH of the test JPEGs")
    parser.add_argument("--images", type=int, default=8, help="distinct test JPEGs")
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency")
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--trivial-requests", type=int, default=800)
    parser.add_argument("--trivial-concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter timings")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="VULCAIN_X=V",
        help="extra setting for the server (repeatable), e.g. VULCAIN_WORKERS=16",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if (args.prototxt is None) != (args.caffemodel is None):
        parser.error("--prototxt and --caffemodel go together")
    if args.quick:
        args.requests = min(args.requests, 16)
        args.trivial_requests = min(args.trivial_requests, 300)
    return args


def _sides(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def _model_files(args: argparse.Namespace) -> tuple[dict[str, Path], str]:
    if args.prototxt is None:
        prototxt, caffemodel, parameters = build_resnet50(CACHE / "resnet50")
        return {"deploy.prototxt": prototxt, "snapshot.caffemodel": caffemodel}, (
            f"ResNet-50-shaped Caffe, random weights, {parameters / 1e6:.1f}M parameters"
        )
    files = {"deploy.prototxt": args.prototxt, "snapshot.caffemodel": args.caffemodel}
    if args.mean is not None:
        files[args.mean.name] = args.mean
    return files, f"{args.prototxt.name} + {args.caffemodel.name}"


def _check_against(references: list[dict[str, np.ndarray]]):
    def check(image: int, tensors: dict[str, np.ndarray]) -> None:
        for name, expected in references[image].items():
            if not np.allclose(tensors[name], expected, rtol=1e-3, atol=1e-4):
                worst = float(np.max(np.abs(tensors[name] - expected)))
                raise AssertionError(f"{name} of image {image} differs by {worst} from raw")

    return check


def _deploy(client: Client, name: str, framework: str, files: dict[str, Path], pre: dict) -> int:
    network = client.Network.create(
        name=name, framework=framework, preprocessing=pre, files=files, progress=False
    )
    network.deployment().wait(timeout=DEPLOY_TIMEOUT_S)
    return network.id


def _trivial(server: ServerProcess, client: Client, args: argparse.Namespace) -> LoadResult:
    model = build_identity_onnx(CACHE / "identity")
    pre = {"inputs": [{"tensor_name": "data", "image": {"target_size": "8x8"}}]}
    network_id = _deploy(client, "identity", ONNX, {"model.onnx": model}, pre)
    inputs = image_inputs(make_jpegs(4, 64, 48), "json")
    run_load(server, network_id, inputs, ["out"], concurrency=4, requests=40)
    return run_load(
        server,
        network_id,
        inputs,
        ["out"],
        concurrency=args.trivial_concurrency,
        requests=args.trivial_requests,
    )


def main() -> int:
    args = _arguments()
    load_at_start = [round(load, 2) for load in os.getloadavg()]
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    files, model_label = _model_files(args)
    runtime = load_runtime(CAFFE, files["deploy.prototxt"].parent)
    if args.prototxt is not None:
        runtime.close()
        runtime = _load_user_model(files)
    input_spec = runtime.inputs()[0]
    outputs = runtime.final_outputs()
    target = args.target_size or _target_from_shape(input_spec.shape)
    image_spec = {
        "target_size": target,
        "color_channels": args.color_channels,
        "pixel_scaling": args.pixel_scaling,
        "mean_file": args.mean.name if args.mean else None,
    }
    pre = {"inputs": [{"tensor_name": input_spec.name, "image": image_spec}]}
    jpegs = make_jpegs(args.images, *_sides(args.image_size))
    tensors = preprocessed_tensors(jpegs, ImagePreprocessing(**image_spec), args.mean)
    print(f"[1/4] raw runtime: {model_label}", file=sys.stderr)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]

    def raw_run() -> RawResult:
        return measure_raw(
            runtime,
            input_spec.name,
            tensors,
            outputs,
            batch_sizes=batch_sizes,
            min_seconds=1.0 if args.quick else 2.0,
            single_repeats=5 if args.quick else 9,
        )

    try:
        raw_runs = [raw_run()]
        results = _serve_and_measure(args, files, pre, jpegs, outputs, raw_runs[0])
        print("[4/4] raw runtime again (the better of both runs is the reference)", file=sys.stderr)
        raw_runs.append(raw_run())
    finally:
        runtime.close()
    raw = best_of(raw_runs)
    results.update(ratios(results, raw))
    results.update(
        machine={**machine_info(), "load_average_at_start": load_at_start},
        model={
            "label": model_label,
            "weight_file_mb": float(f"{files['snapshot.caffemodel'].stat().st_size / 2**20:.3g}"),
            "outputs": outputs,
            "target_size": target,
            "image_size": args.image_size,
        },
        raw={**raw.to_json(), "runs": [run.to_json() for run in raw_runs]},
    )
    results["targets"] = targets(results)
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _serve_and_measure(
    args: argparse.Namespace,
    files: dict[str, Path],
    pre: dict,
    jpegs: list[bytes],
    outputs: list[str],
    raw: RawResult,
) -> dict:
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    server = ServerProcess(extra_env)
    try:
        server.wait_ready()
        client = Client(api_key=server.api_key, host=server.url)
        print("[2/4] near-free network through the API", file=sys.stderr)
        trivial = _trivial(server, client, args)
        print("[3/4] the model through the API", file=sys.stderr)
        rss_before = server.rss_mb()
        network_id = _deploy(client, "benchmark", CAFFE, files, pre)
        check = _check_against(raw.references)
        warm = {name: image_inputs(jpegs, encoding) for name, encoding in ENCODINGS.items()}
        for inputs in warm.values():
            run_load(server, network_id, inputs, outputs, concurrency=1, requests=3, check=check)
        rss_warm = server.rss_mb()
        # A burst lets the runtime meet every batch size once (OpenCV allocates per input
        # shape) before anything is timed, so the first encoding measured is not penalised.
        burst = max(int(c) for c in args.concurrency.split(","))
        run_load(server, network_id, warm["api"], outputs, concurrency=min(burst, 16), requests=32)
        results: dict = {"trivial": trivial.to_json()}
        for name, inputs in warm.items():
            results[name] = {}
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                print(f"      {ENCODINGS[name]} c{concurrency}", file=sys.stderr)
                load = run_load(
                    server,
                    network_id,
                    inputs,
                    outputs,
                    concurrency=concurrency,
                    requests=max(args.requests, 2 * concurrency),
                    check=check,
                )
                results[name][f"c{concurrency}"] = load.to_json()
        rss_loaded = server.rss_mb()
    except Exception:
        print(f"server log (last lines):\n{server.log()}", file=sys.stderr)
        raise
    finally:
        server.stop()
    results["trivial_requests_per_s"] = trivial.to_json()["images_per_s"]
    results["rss_per_model_mb"] = round(rss_warm - rss_before, 1)
    results["rss"] = {
        "server_before_mb": round(rss_before, 1),
        "after_deploy_and_warmup_mb": round(rss_warm, 1),
        "after_all_loads_mb": round(rss_loaded, 1),
        "per_model_after_all_loads_mb": round(rss_loaded - rss_before, 1),
    }
    return results


def _load_user_model(files: dict[str, Path]):
    """The Caffe runtime wants its files under their upload names: load from a copy."""
    folder = Path(tempfile.mkdtemp(prefix="vulcain-bench-model-"))
    try:
        for name, path in files.items():
            shutil.copyfile(path, folder / name)
        return load_runtime(CAFFE, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _target_from_shape(shape: tuple[int | None, ...] | None) -> str:
    if not shape or len(shape) != 4 or shape[2] is None or shape[3] is None:
        raise SystemExit("the network's input has no fixed size: give --target-size WxH")
    return f"{shape[3]}x{shape[2]}"


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
