"""What one logical inference is for each server, as the load generator sends it.

A scenario is built from a JSON-able config (so the parent process can hand it to the
load generator's process) plus the images and, per image, the reference output. Its
``infer(session, image, verify)`` sends the request(s) of one inference and raises when the
answer is not a success; with ``verify`` it also compares the output tensor with the
reference (rtol 1e-3, atol 1e-4), so a server that answers fast but wrong cannot look fast.

Bodies are encoded once per image up front: the generator's own CPU per request stays
small and the same for every server.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import aiohttp
import numpy as np
import orjson

WAIT_SECONDS = 10
RTOL, ATOL = 1e-3, 1e-4
MULTIPART_BOUNDARY = "vulcain-benchmark-boundary-7f3a9c"


class Unsupported(Exception):
    """The server does not offer this mode (e.g. a POST that ignores ``?wait``)."""


class RequestFailed(Exception):
    """A non-success answer: HTTP error, failed or unfinished task, malformed body."""


class WrongAnswer(Exception):
    """A success whose tensor is not the reference."""


def _verify(name: str, data: Sequence[float], reference: np.ndarray | None) -> None:
    if reference is None:
        return
    got = np.asarray(data, dtype=np.float32)
    if got.size != reference.size or not np.allclose(got, reference, rtol=RTOL, atol=ATOL):
        worst = float(np.max(np.abs(got - reference))) if got.size == reference.size else "size"
        raise WrongAnswer(f"{name} differs from the reference (worst {worst})")


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict) -> Any:
    async with session.post(url, data=body, headers=headers) as response:
        payload = await response.read()
        if response.status != 200:
            raise RequestFailed(f"POST answered {response.status}: {payload[:200]!r}")
    return orjson.loads(payload)


class Health:
    """``GET /health``: the load generator's own ceiling against a near-free endpoint."""

    def __init__(self, config: dict, images: list[bytes], references: list) -> None:
        self.url = config["url"] + "/health"

    async def infer(self, session: aiohttp.ClientSession, image: int, verify: bool) -> None:
        async with session.get(self.url) as response:
            await response.read()
            if response.status != 200:
                raise RequestFailed(f"GET /health answered {response.status}")


def _multipart(jpeg: bytes, output: str) -> bytes:
    """The multipart body the Python client sends for an uploaded image."""
    dash = f"--{MULTIPART_BOUNDARY}\r\n".encode()
    return b"".join(
        [
            dash,
            b'Content-Disposition: form-data; name="output_tensors[0]"\r\n\r\n',
            output.encode(),
            b"\r\n",
            dash,
            b'Content-Disposition: form-data; name="inputs[0]image.source"; filename="image"\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n",
            jpeg,
            f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode(),
        ]
    )


class Vulcain:
    """Vulcain's inference: ``mode`` ``two_request`` (POST, then GET the task with
    ``?wait``; latency from POST start to GET end) or ``one_request`` (POST ``?wait``
    answers the finished task); ``body`` ``json`` (base64 data URI) or ``multipart``."""

    def __init__(self, config: dict, images: list[bytes], references: list) -> None:
        self.url = config["url"]
        self.output = config["output"]
        self.one_request = config["mode"] == "one_request"
        self.get_headers = {"X-API-KEY": config["api_key"]}
        self.headers = dict(self.get_headers)
        self.references = references
        post = f"{self.url}/v0.7/networks/{config['network_id']}/inference"
        self.post_url = post + (f"?wait={WAIT_SECONDS}" if self.one_request else "")
        if config.get("body", "json") == "json":
            self.headers["Content-Type"] = "application/json"
            self.bodies = [
                orjson.dumps(
                    {
                        "inputs": [{"image": {"source": _data_uri(jpeg)}}],
                        "output_tensors": [self.output],
                    }
                )
                for jpeg in images
            ]
        else:
            self.headers["Content-Type"] = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"
            self.bodies = [_multipart(jpeg, self.output) for jpeg in images]

    async def infer(self, session: aiohttp.ClientSession, image: int, verify: bool) -> None:
        answer = await _post(session, self.post_url, self.bodies[image], self.headers)
        if self.one_request:
            if "status" not in answer:
                raise Unsupported(f"POST ?wait answered {str(answer)[:80]}, not the task")
            task = answer
        else:
            task = {"id": answer["task_id"], "status": "pending"}
        # Still pending after a wait (a deep queue at high concurrency): wait again, as a
        # client would, until the generator's request timeout.
        while task.get("status") == "pending":
            task = await self._task(session, task["id"])
        if task.get("status") != "success":
            raise RequestFailed(f"task {task.get('status')}: {str(task.get('error'))[:200]}")
        if verify:
            tensors = {tensor["name"]: tensor["data"] for tensor in task["data"]["tensors"]}
            _verify(self.output, tensors[self.output], self.references[image])

    async def _task(self, session: aiohttp.ClientSession, task_id: int) -> dict:
        task_url = f"{self.url}/v0.7/tasks/{task_id}?wait={WAIT_SECONDS}"
        async with session.get(task_url, headers=self.get_headers) as response:
            payload = await response.read()
            if response.status != 200:
                raise RequestFailed(f"GET task answered {response.status}: {payload[:200]!r}")
        return orjson.loads(payload)


class MLServer:
    """The V2 inference protocol (MLServer's, and Vulcain's ``/v2``), JSON: one BYTES input
    holding the base64 JPEG (named ``config["input"]``, ``image`` by default), plus any
    ``config["headers"]`` (Vulcain's API key)."""

    def __init__(self, config: dict, images: list[bytes], references: list) -> None:
        self.url = f"{config['url']}/v2/models/{config['model']}/infer"
        self.output = config["output"]
        self.references = references
        self.headers = {"Content-Type": "application/json", **config.get("headers", {})}
        self.bodies = [
            orjson.dumps(
                {
                    "inputs": [
                        {
                            "name": config.get("input", "image"),
                            "shape": [1],
                            "datatype": "BYTES",
                            "parameters": {"content_type": "base64"},
                            "data": [base64.b64encode(jpeg).decode("ascii")],
                        }
                    ],
                    "outputs": [{"name": self.output}],
                }
            )
            for jpeg in images
        ]

    async def infer(self, session: aiohttp.ClientSession, image: int, verify: bool) -> None:
        answer = await _post(session, self.url, self.bodies[image], self.headers)
        outputs = {output["name"]: output for output in answer.get("outputs", [])}
        if self.output not in outputs:
            raise RequestFailed(f"no output {self.output!r} in {str(answer)[:200]}")
        if verify:
            _verify(self.output, outputs[self.output]["data"], self.references[image])


class Mosec:
    """Mosec's ``POST /inference`` with a JSON body ``{"image": "<base64 JPEG>"}``, answered
    ``{"name", "shape", "data"}`` by benchmarks/_peers/mosec_app.py."""

    def __init__(self, config: dict, images: list[bytes], references: list) -> None:
        self.url = f"{config['url']}/inference"
        self.output = config["output"]
        self.references = references
        self.headers = {"Content-Type": "application/json"}
        self.bodies = [
            orjson.dumps({"image": base64.b64encode(jpeg).decode("ascii")}) for jpeg in images
        ]

    async def infer(self, session: aiohttp.ClientSession, image: int, verify: bool) -> None:
        answer = await _post(session, self.url, self.bodies[image], self.headers)
        if answer.get("name") != self.output:
            raise RequestFailed(f"unexpected answer {str(answer)[:200]}")
        if verify:
            _verify(self.output, answer["data"], self.references[image])


def _data_uri(jpeg: bytes) -> str:
    return "data:image/*;base64," + base64.b64encode(jpeg).decode("ascii")


SCENARIOS = {"health": Health, "vulcain": Vulcain, "mlserver": MLServer, "mosec": Mosec}


def build_scenario(config: dict, images: list[bytes], references: list[np.ndarray | None]):
    """The scenario of ``config["kind"]``."""
    return SCENARIOS[config["kind"]](config, images, references)
