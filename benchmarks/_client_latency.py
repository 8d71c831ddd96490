"""Sequential (c1) latency of a synchronous Python client, run as a child process.

``official``: deepomatic-api 1.0.0's ``network.inference(...)``, which starts the task and
polls ``GET /tasks/{id}`` without ``wait`` (at once, then after 50 ms, then 100 ms plus a
random backoff). ``vulcain``: Vulcain's own client, which waits with the long-poll. Each
runs with the python of the virtualenv holding that client (the official one cannot share
a virtualenv with Vulcain); ``measure_client`` starts it.

Argument: a JSON config; prints ``{"latencies_s": [...], "first_output": [...]}``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

TIMEOUT_S = 600


def measure_client(python: Path, config: dict) -> dict:
    """Run this file with ``python`` on ``config``; return its JSON answer."""
    done = subprocess.run(
        [str(python), str(Path(__file__).resolve()), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{config['client']} client failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _network(config: dict):
    """The client's network object and its ImageInput class."""
    if config["client"] == "official":
        from deepomatic.api.client import Client
        from deepomatic.api.inputs import ImageInput

        client = Client(api_key=config["api_key"], host=config["url"] + "/")
    else:
        from vulcain.client import Client, ImageInput

        client = Client(api_key=config["api_key"], host=config["url"])
    return client.Network.retrieve(config["network_id"]), ImageInput


def _run(config: dict) -> dict:
    network, image_input = _network(config)
    texts = [Path(path).read_bytes() for path in config["images"]]
    texts = [base64.b64encode(jpeg) for jpeg in texts]
    output = config["output"]

    def infer(index: int):
        inputs = [image_input(texts[index % len(texts)], encoding="base64")]
        return network.inference(inputs=inputs, output_tensors=[output])[output]

    first = infer(0)
    for index in range(1, config["warmup"]):
        infer(index)
    latencies = []
    for index in range(config["requests"]):
        began = time.perf_counter()
        infer(index)
        latencies.append(time.perf_counter() - began)
    return {"latencies_s": latencies, "first_output": [float(v) for v in first.ravel()]}


if __name__ == "__main__":
    print(json.dumps(_run(json.loads(sys.argv[1]))))
