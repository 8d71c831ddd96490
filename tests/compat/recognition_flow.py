"""The recognition flow with the official ``deepomatic-api`` client.

Run by tests/compat like deepomatic_flow.py (never imported by pytest): create a spec and
a version, infer on both, list versions, switch ``current_version_id``, use the spec once
published, delete. Prints one JSON object of results; every step records its value or
the exception it raised.
"""

from __future__ import annotations

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


def refused(action: Callable[[], Any]) -> Any:
    try:
        action()
    except ClientError as error:
        return {"status_code": error.status_code, "body": error.json()}
    return {"status_code": 200}


client = Client(api_key=config["api_key"], host=config["url"] + "/")
other = Client(api_key=config["other_api_key"], host=config["url"] + "/")
run = config["run_id"]

network = client.Network.create(
    name=f"{run}-classifier",
    framework="onnx",
    preprocessing=config["preprocessing"],
    files={"model.onnx": config["classifier_path"]},
)
client.Task.retrieve(network["task_id"]).wait(timeout=120)
labels = [{"id": 10 + index, "name": name} for index, name in enumerate(config["label_names"])]

spec = step(
    "create_spec",
    lambda: client.RecognitionSpec.create(
        name=f"{run}-spec",
        description="made by deepomatic-api",
        metadata={"k": "v"},
        outputs=[{"labels": {"roi": "NONE", "exclusive": True, "labels": labels}}],
    ),
)
if spec is not None:
    results["create_spec"] = dict(spec.data())
    # The client itself refuses current_version_id on create; the server does too.
    results["refused_current_on_create"] = requests.post(
        f"{config['url']}/v0.7/recognition/specs/",
        json={
            "name": "x",
            "outputs": [{"labels": {"roi": "NONE", "labels": labels}}],
            "current_version_id": 1,
        },
        headers={"X-API-KEY": config["api_key"]},
        timeout=30,
    ).status_code

    def create_version() -> Any:
        return client.RecognitionVersion.create(
            spec_id=spec["id"],
            network_id=network["id"],
            post_processings=[{"classification": {"output_tensor": "prob"}}],
        )

    version = step("create_version", create_version)
    results["create_version"] = dict(version.data())
    step("spec_after_version", lambda: client.RecognitionSpec.retrieve(spec["id"]).data())

    image = ImageInput(config["image_url"])
    step(
        "spec_inference",
        lambda: spec.inference(inputs=[image], show_discarded=True, max_predictions=3),
    )
    step(
        "spec_inference_hidden",
        lambda: spec.inference(inputs=[image], show_discarded=False, max_predictions=3),
    )
    with open(config["image_path"], "rb") as file:
        image_bytes = file.read()
    step(
        "version_inference",
        lambda: version.inference(
            inputs=[ImageInput(image_bytes, encoding="binary")], show_discarded=True
        ),
    )

    def infer_file() -> Any:
        with open(config["image_path"], "rb") as file:
            return version.inference(inputs=[ImageInput(file)], max_predictions=1)

    step("version_inference_file", infer_file)
    step(
        "inference_bbox",
        lambda: version.inference(inputs=[ImageInput(config["image_url"], bbox=config["bbox"])]),
    )
    step("empty_inputs", lambda: refused(lambda: spec.inference(inputs=[])))

    second = step("create_second_version", create_version)
    results["create_second_version"] = dict(second.data())
    step("list_versions", lambda: [item["id"] for item in spec.versions()])
    step("list_all_versions", lambda: [item["id"] for item in client.RecognitionVersion.list()])

    def switch() -> Any:
        spec.update(current_version_id=second["id"])
        return client.RecognitionSpec.retrieve(spec["id"]).data()

    step("switch_current_version", switch)
    step("update_outputs_refused", lambda: refused(lambda: spec.update(outputs=[])))
    step("list_specs", lambda: [item["id"] for item in client.RecognitionSpec.list()])

    def publish() -> int:
        response = requests.post(
            f"{config['url']}/v0.7/recognition/specs/{spec['id']}/publish",
            json={"public_id": config["slug"]},
            headers={"X-API-KEY": config["api_key"]},
            timeout=30,
        )
        return response.status_code

    step("publish", publish)
    step(
        "public_list",
        lambda: [item["id"] for item in other.RecognitionSpec.list(public=True)],
    )
    public = other.RecognitionSpec.retrieve(config["slug"])
    step("public_retrieve", lambda: public.data())
    step(
        "public_inference",
        lambda: public.inference(inputs=[image], show_discarded=True, max_predictions=3),
    )
    step("public_update_refused", lambda: refused(lambda: public.update(name="taken")))

    def delete_version() -> Any:
        client.RecognitionVersion.retrieve(second["id"]).delete()
        return refused(lambda: client.RecognitionVersion.retrieve(second["id"]).data())

    step("delete_version", delete_version)
    step("spec_after_delete", lambda: client.RecognitionSpec.retrieve(spec["id"]).data())

    def delete_spec() -> Any:
        mine = client.RecognitionSpec.retrieve(config["slug"])
        mine.delete()
        return {
            "public": refused(lambda: client.RecognitionSpec.retrieve(config["slug"]).data()),
            "private": refused(lambda: client.RecognitionSpec.retrieve(spec["id"]).data()),
            "version": refused(lambda: client.RecognitionVersion.retrieve(version["id"]).data()),
        }

    step("delete_spec", delete_spec)

print(json.dumps(results))
