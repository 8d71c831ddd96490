"""How close Vulcain's HTTP API comes to the raw runtime, on this machine, in one run.

Run from the repository root:

    .venv/bin/python benchmarks/serving.py --json out.json [--quick] [--network nsfw]
    .venv/bin/python benchmarks/serving.py --prototxt deploy.prototxt \
        --caffemodel snapshot.caffemodel [--mean mean.binaryproto]

Measures (a) the Caffe runtime alone on preprocessed tensors (best throughput over batch
sizes, single-image latency, decode and preprocessing of one JPEG); (b) a real ``vulcain
serve`` subprocess fed the same 640x480 JPEGs by the closed-loop load generator
(_aioload.py, its own process), as base64 in JSON and as multipart uploads, at several
concurrencies, with the two-request protocol (POST, then GET the task with ``?wait``) and
the one-request mode (POST ``?wait``) where the server offers it; (c) requests/s for a
near-free ONNX identity on an 8x8 JPEG, and what recording the metrics costs there
(against a second server with ``VULCAIN_METRICS=false``, in alternating rounds); (d) the
load generator's ceiling on ``GET /health``; and the resident memory one loaded model
costs. For a Caffe network, (e) the serving runtime beside the reference: the network
converted to ONNX as a deployment converts it, measured raw like the reference, the
resident memory of each runtime (fresh processes) and the runtime the deployment chose
(``_accelerated.py``). The network is by default a ResNet-50-shaped Caffe network with
random weights, built once and cached; ``--network nsfw`` takes the trained open_nsfw one
(shared with peers.py). Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType

from _accelerated import converted_runtime, network_folder, resident_mb
from _aioload import run_load
from _inputs import make_jpegs
from _metrics_cost import measure_metrics_cost
from _networks import BenchNetwork, identity_network, nsfw_network, resnet50_network
from _raw import RawResult, best_of, decode_preprocess_ms, measure_raw, preprocessed_tensors
from _report import machine_info, print_report, ratios
from _server import ServerProcess
from _targets import against_raw_reference, vulcain_alone
from _vulcain import MODES, deploy, health_scenario, scenario

from vulcain.client import Client
from vulcain.frameworks import CAFFE
from vulcain.schemas import ImagePreprocessing

BODIES = ("json", "multipart")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="resnet50-random", choices=["resnet50-random", "nsfw"])
    parser.add_argument("--prototxt", type=Path, help="your deploy.prototxt")
    parser.add_argument("--caffemodel", type=Path, help="your snapshot.caffemodel")
    parser.add_argument("--mean", type=Path, help="mean file (.binaryproto or .npy)")
    parser.add_argument("--target-size", help="WxH, when the prototxt does not fix it")
    parser.add_argument("--pixel-scaling", type=float, default=255.0)
    parser.add_argument("--color-channels", default="BGR", choices=["BGR", "RGB"])
    parser.add_argument("--image-size", default="640x480", help="WxH of the test JPEGs")
    parser.add_argument("--images", type=int, default=8, help="distinct test JPEGs")
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency")
    parser.add_argument("--concurrency", help="comma-separated (default 1,4,16,64; quick 1,16)")
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--trivial-requests", type=int, default=2000)
    parser.add_argument("--trivial-concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter timings")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="VULCAIN_X=V",
        help="extra setting for the server (repeatable), e.g. VULCAIN_MAX_BATCH_SIZE=8",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if (args.prototxt is None) != (args.caffemodel is None):
        parser.error("--prototxt and --caffemodel go together")
    if args.quick:
        args.requests = min(args.requests, 16)
        args.trivial_requests = min(args.trivial_requests, 300)
    args.concurrency = args.concurrency or ("1,16" if args.quick else "1,4,16,64")
    return args


def _sides(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def _network(args: argparse.Namespace) -> BenchNetwork:
    """The network to serve, with its input, first final output and target size."""
    if args.prototxt is None:
        return nsfw_network() if args.network == "nsfw" else resnet50_network()
    files = {"deploy.prototxt": args.prototxt, "snapshot.caffemodel": args.caffemodel}
    if args.mean is not None:
        files[args.mean.name] = args.mean
    network = BenchNetwork(
        label=f"{args.prototxt.name} + {args.caffemodel.name}",
        framework=CAFFE,
        files=files,
        output="",
        target_size=_sides(args.target_size) if args.target_size else (0, 0),
        color_channels=args.color_channels,
        pixel_scaling=args.pixel_scaling,
        mean_name=args.mean.name if args.mean else None,
    )
    runtime = network.load_raw_runtime()
    try:
        spec, output = runtime.inputs()[0], runtime.final_outputs()[0]
    finally:
        runtime.close()
    shape = spec.shape
    if not args.target_size:
        if not shape or len(shape) != 4 or shape[2] is None or shape[3] is None:
            raise SystemExit("the network's input has no fixed size: give --target-size WxH")
        network = dataclasses.replace(network, target_size=(shape[3], shape[2]))
    return dataclasses.replace(network, input_name=spec.name, output=output)


def main() -> int:
    args = _arguments()
    load_at_start = [round(load, 2) for load in os.getloadavg()]
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    network = _network(args)
    jpegs = make_jpegs(args.images, *_sides(args.image_size))
    spec = ImagePreprocessing(**network.image_spec)
    tensors = preprocessed_tensors(jpegs, spec, network.mean_path)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    print(f"[1/4] raw runtime: {network.label}", file=sys.stderr)
    runtime = network.load_raw_runtime()

    def raw_run() -> RawResult:
        return measure_raw(
            runtime,
            network.input_name,
            tensors,
            [network.output],
            batch_sizes=batch_sizes,
            min_seconds=1.0 if args.quick else 2.0,
            single_repeats=5 if args.quick else 9,
        )

    serving = _serving_runtime(args, network, tensors, batch_sizes)
    try:
        raw_runs = [raw_run()]
        decode_ms = decode_preprocess_ms(jpegs[0], spec, network.mean_path)
        results = _serve_and_measure(args, network, jpegs, raw_runs[0])
        print("[4/4] raw runtime again (the better of both runs is the reference)", file=sys.stderr)
        raw_runs.append(raw_run())
    finally:
        runtime.close()
    raw = best_of(raw_runs)
    results.update(
        machine={**machine_info(), "load_average_at_start": load_at_start},
        model={
            "label": network.label,
            "weight_file_mb": network.weight_file_mb,
            "output": network.output,
            "target_size": network.image_spec["target_size"],
            "image_size": args.image_size,
        },
        raw={
            **raw.to_json(),
            "decode_preprocess_ms": round(decode_ms, 3),
            "runs": [run.to_json() for run in raw_runs],
        },
    )
    results.update(ratios(results, raw))
    if serving is not None:
        results["serving_runtime"] = {**serving, "deployment": results.pop("deployment", {})}
    runs = _target_runs(results)
    served_by = results.get("serving_runtime", {}).get("deployment", {}).get("runtime")
    if served_by == "onnxruntime":  # its own path against the raw runtime that serves it
        own_raw = {**results["serving_runtime"]["raw"], "decode_preprocess_ms": decode_ms}
        results["targets"] = {
            **vulcain_alone(runs, own_raw),
            **against_raw_reference(runs, results["raw"]),
        }
    else:
        results["targets"] = vulcain_alone(runs, results["raw"])
    results["targets"]["near_free_metrics_on_vs_off"] = results["metrics_cost"]["target"]
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _serving_runtime(
    args: argparse.Namespace, network: BenchNetwork, tensors: list, batch_sizes: list[int]
) -> dict | None:
    """A Caffe network converted as a deployment converts it: onnxruntime measured raw
    like the reference, and the memory of each runtime (fresh processes)."""
    if network.framework != CAFFE:
        return None
    print("[1/4] raw serving runtime: the network converted to ONNX", file=sys.stderr)
    folder = network_folder(network)
    runtime = converted_runtime(folder)
    try:
        raw = measure_raw(
            runtime,
            network.input_name,
            tensors,
            [network.output],
            batch_sizes=batch_sizes,
            min_seconds=1.0 if args.quick else 2.0,
            single_repeats=5 if args.quick else 9,
        )
    finally:
        runtime.close()
    found = {"engine": runtime.engine, "raw": raw.to_json()}
    try:
        found["resident_memory_mb"] = resident_mb(network, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def _target_runs(results: dict) -> dict:
    """Per mode, the rows the targets read: near-free c16, and the JSON body's c1 and c16."""
    runs = {}
    for mode in MODES:
        rows = {"near_free_c16": results["near_free"][mode]}
        for level in ("c1", "c16"):
            if level in results["api"]["json"][mode]:
                rows[f"resnet_{level}"] = results["api"]["json"][mode][level]
        runs[mode] = rows
    return runs


def _serve_and_measure(
    args: argparse.Namespace, network: BenchNetwork, jpegs: list[bytes], raw: RawResult
) -> dict:
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    server = ServerProcess(extra_env)
    pids = [server.process.pid]
    max_seconds = 20.0 if args.quick else 120.0
    try:
        server.wait_ready()
        client = Client(api_key=server.api_key, host=server.url)
        print("[2/4] load generator ceiling and the near-free network", file=sys.stderr)
        ceiling = run_load(
            health_scenario(server), [b""], concurrency=16, requests=2000, server_pids=pids
        )
        near_free = identity_network()
        near_free_id = deploy(client, near_free, "identity")
        tiny = make_jpegs(3, 8, 8)
        results: dict = {"generator_ceiling": ceiling.to_json(), "near_free": {}}
        for mode in MODES:
            results["near_free"][mode] = run_load(
                scenario(server, near_free_id, near_free.output, mode),
                tiny,
                concurrency=args.trivial_concurrency,
                requests=args.trivial_requests,
                server_pids=pids,
                max_seconds=max_seconds,
            ).to_json()
        print("      metrics on against off (a second server)", file=sys.stderr)
        results["metrics_cost"] = measure_metrics_cost(
            server,
            near_free_id,
            near_free,
            tiny,
            extra_env=extra_env,
            concurrency=args.trivial_concurrency,
            requests=args.trivial_requests,
            rounds=2 if args.quick else 3,
            max_seconds=max_seconds,
        )
        print("[3/4] the model through the API", file=sys.stderr)
        rss_before = server.rss_mb()
        network_id = deploy(client, network, "benchmark")
        deployment = client.Network.retrieve(network_id).deployment().data or {}
        results["deployment"] = {
            key: deployment.get(key) for key in ("runtime", "reference_copies", "acceleration")
        }
        references = [reference[network.output] for reference in raw.references]
        rss_warm = None
        results["api"] = {}
        for body in BODIES:
            for mode in MODES:
                rows = results["api"].setdefault(body, {}).setdefault(mode, {})
                levels = [int(c) for c in args.concurrency.split(",")]
                for concurrency in levels:
                    print(f"      {body} {mode} c{concurrency}", file=sys.stderr)
                    load = run_load(
                        scenario(server, network_id, network.output, mode, body),
                        jpegs,
                        references,
                        concurrency=concurrency,
                        requests=max(args.requests, 2 * concurrency),
                        server_pids=pids,
                        max_seconds=max_seconds,
                    )
                    rss_warm = rss_warm or server.rss_mb()
                    rows[f"c{concurrency}"] = load.to_json()
                    if load.unsupported:  # the same answer at every level: ask once
                        rows.update({f"c{level}": load.to_json() for level in levels})
                        break
        rss_loaded = server.rss_mb()
    except Exception:
        print(f"server log (last lines):\n{server.log()}", file=sys.stderr)
        raise
    finally:
        server.stop()
    results["rss_per_model_mb"] = round(rss_warm - rss_before, 1)
    results["rss"] = {
        "server_before_mb": round(rss_before, 1),
        "after_deploy_and_warmup_mb": round(rss_warm, 1),
        "after_all_loads_mb": round(rss_loaded, 1),
        "per_model_after_all_loads_mb": round(rss_loaded - rss_before, 1),
    }
    return results


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: every server was stopped", file=sys.stderr)
        sys.exit(130)
