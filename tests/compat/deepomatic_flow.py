"""The whole Networks API flow with the official ``deepomatic-api`` client.

Run by tests/compat with the python of a virtualenv holding one version of that client
(never imported by pytest). Argument: a JSON object of settings. Prints one JSON object of
results on stdout; every step records its value or the exception it raised, so one broken
step does not hide the others.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import requests
from deepomatic.api.client import Client
from deepomatic.api.exceptions import ClientError
from deepomatic.api.inputs import ImageInput

config: dict[str, Any] = json.loads(sys.argv[1])
results: dict[str, Any] = {}


def step(name: str, action: Callable[[], Any]) -> Any:
    try:
        value = action()
    except Exception as error:  # a failed step is a result to report, not a crash
        results[name] = {"exception": type(error).__name__, "message": str(error)[:2000]}
        results[name]["traceback"] = traceback.format_exc()[-3000:]
        return None
    results[name] = value
    return value


def tensors(result: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"shape": list(array.shape), "data": array.ravel().tolist()}
        for name, array in result.items()
    }


def publish(network_id: int, slug: str) -> int:
    response = requests.post(
        f"{config['url']}/v0.7/networks/{network_id}/publish",
        json={"public_id": slug},
        headers={"X-API-KEY": config["api_key"]},
        timeout=30,
    )
    return response.status_code


client = Client(api_key=config["api_key"], host=config["url"] + "/")
run = config["run_id"]


def create(name: str) -> Any:
    return client.Network.create(
        name=name,
        description="created by deepomatic-api",
        metadata={"author": "me", "project": "Go to mars"},
        framework="onnx",
        preprocessing=config["preprocessing"],
        files={"model.onnx": config["model_path"]},
    )


network = step("create", lambda: create(f"{run}-main"))
if network is not None:
    results["create"] = dict(network.data())
    step("deploy_wait", lambda: client.Task.retrieve(network["task_id"]).wait(timeout=120).data())
    network_id = network["id"]
    step("retrieve_by_id", lambda: client.Network.retrieve(network_id).data())
    step("publish", lambda: publish(network_id, config["slug"]))
    step("retrieve_by_slug", lambda: client.Network.retrieve(config["slug"]).data())

    extra = step("create_extra", lambda: [create(f"{run}-extra-{i}") for i in range(3)]) or []
    results["extra_ids"] = results["create_extra"] = [item["id"] for item in extra]
    step("publish_extra", lambda: publish(extra[0]["id"], config["slug"] + "-extra"))
    step("list_private", lambda: [item["id"] for item in client.Network.list(limit=2)])
    step("list_private_count", lambda: client.Network.list(limit=2).count())
    step("list_public", lambda: [item["id"] for item in client.Network.list(public=True, limit=1)])

    def update() -> Any:
        fetched = client.Network.retrieve(extra[1]["id"])
        fetched.update(name=f"{run}-renamed", description="new description")
        return client.Network.retrieve(extra[1]["id"]).data()

    step("update", update)

    def delete() -> Any:
        client.Network.retrieve(extra[2]["id"]).delete()
        try:
            client.Network.retrieve(extra[2]["id"]).data()
        except ClientError as error:
            return {"status_code": error.status_code, "body": error.json()}
        return {"status_code": 200}

    step("delete", delete)

    deployed = client.Network.retrieve(network_id)
    with open(config["image_path"], "rb") as image_file:
        image_bytes = image_file.read()

    def infer(*inputs: Any) -> Any:
        return tensors(deployed.inference(inputs=list(inputs), output_tensors=["out"]))

    def infer_file() -> Any:
        with open(config["image_path"], "rb") as file:
            return infer(ImageInput(file))

    step("infer_url", lambda: infer(ImageInput(config["image_url"])))
    step("infer_file", infer_file)
    step("infer_binary", lambda: infer(ImageInput(image_bytes, encoding="binary")))
    step("infer_base64", lambda: infer(ImageInput(base64.b64encode(image_bytes), "base64")))
    step("infer_url_bbox", lambda: infer(ImageInput(config["image_url"], bbox=config["bbox"])))
    public = client.Network.retrieve(config["slug"])
    step(
        "infer_public",
        lambda: tensors(
            public.inference(inputs=[ImageInput(image_bytes, "binary")], output_tensors=["out"])
        ),
    )

    def refused(action: Callable[[], Any]) -> Any:
        try:
            action()
        except ClientError as error:
            return {"status_code": error.status_code, "body": error.json()}
        return {"status_code": 200}

    def from_public_list(as_client: Client) -> Any:
        """The network published as the slug, as an object of the public list."""
        listed = list(as_client.Network.list(public=True))
        return next(item for item in listed if item["public_id"] == config["slug"])

    # A second account (neither the owner nor an admin) takes the network from the public
    # list and uses that object as it is: the client builds its URLs from its id.
    results["slug"] = config["slug"]
    other = Client(api_key=config["other_api_key"], host=config["url"] + "/")
    step(
        "other_list_public",
        lambda: [[item.pk, item["public_id"]] for item in other.Network.list(public=True)],
    )
    theirs = step("other_found_public", lambda: from_public_list(other))
    if theirs is not None:
        results["other_found_public"] = theirs.pk
        step(
            "other_infer_public",
            lambda: tensors(
                theirs.inference(
                    inputs=[ImageInput(image_bytes, encoding="binary")], output_tensors=["out"]
                )
            ),
        )
        step("other_retrieve_public", lambda: other.Network.retrieve(theirs.pk).data())
        step("other_refresh_public", lambda: theirs.refresh().data())
        step("other_update_public", lambda: refused(lambda: theirs.update(name="taken over")))
        step("other_delete_public", lambda: refused(theirs.delete))
        step("other_after_refusals", lambda: other.Network.retrieve(theirs.pk).data())

    # The owner does the same through the public list: it may edit, and infer.
    mine = step("owner_found_public", lambda: from_public_list(client))
    if mine is not None:
        results["owner_found_public"] = mine.pk

        def owner_update_public() -> Any:
            mine.update(description="edited through the public list")
            return mine.data(no_refresh=True)

        step("owner_update_public", owner_update_public)
        step(
            "owner_infer_public_list",
            lambda: tensors(
                mine.inference(inputs=[ImageInput(image_bytes, "binary")], output_tensors=["out"])
            ),
        )

    def start() -> Any:
        return deployed.inference(
            inputs=[ImageInput(image_bytes, encoding="binary")],
            output_tensors=["out"],
            return_task=True,
            wait_task=False,
            convert_to_numpy=False,
        )

    def task_wait() -> Any:
        task = start()
        task.wait()
        return {"id": task.pk, "status": task["status"], "data": task["data"]}

    step("task_wait", task_wait)

    def task_list() -> Any:
        started = [start() for _ in range(3)]
        listed = client.Task.list(task_ids=[task.pk for task in started])
        return {"asked": [task.pk for task in started], "listed": [task.pk for task in listed]}

    step("task_list", task_list)

    def batch_wait() -> Any:
        started = [start() for _ in range(20)]
        pending, success, error = client.Task.batch_wait(tasks=started, timeout=120)
        return {
            "ids": [task.pk for task in started],
            "pending": [(pos, task.pk) for pos, task in pending],
            "success": [(pos, task.pk, task["status"]) for pos, task in success],
            "error": [(pos, task.pk) for pos, task in error],
        }

    step("batch_wait", batch_wait)

    def empty_inputs() -> Any:
        try:
            deployed.inference(inputs=[], output_tensors=["out"])
        except ClientError as error:
            return {"status_code": error.status_code, "body": error.json()}
        return {"status_code": 200}

    step("empty_inputs", empty_inputs)

print(json.dumps(results))
