"""What an inference request can be checked against before it is queued: the size of its
images, the number of inputs, a failed deployment, and the output names the deployed
network has."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vulcain.db.models import NetworkRow, TaskRow
from vulcain.errors import BadRequest, PayloadTooLarge, UnknownTensorError
from vulcain.schemas import InferenceRequest

_LISTED_NAMES = 20


def check_image_sizes(request: InferenceRequest, max_bytes: int) -> None:
    """Raise :class:`vulcain.errors.PayloadTooLarge` for an image sent as bytes larger than
    ``max_bytes``, the cap of an image fetched from a URL: it would be stored whole (base64)
    in the task's request row."""
    for index, entry in enumerate(request.inputs):
        source = entry.image.source
        if isinstance(source, bytes) and len(source) > max_bytes:
            field = f"inputs[{index}].image.source"
            raise PayloadTooLarge(
                f"{field}: the image has {len(source)} bytes, more than the {max_bytes} "
                "allowed (VULCAIN_FETCH_MAX_BYTES); send a smaller image.",
                fields={field: f"larger than {max_bytes} bytes"},
            )


def check_request(session: Session, row: NetworkRow, request: InferenceRequest) -> None:
    """Raise :class:`vulcain.errors.BadRequest` for what would make the task fail for sure."""
    expected = [entry["tensor_name"] for entry in row.preprocessing["inputs"]]
    if len(request.inputs) != len(expected):
        raise BadRequest(
            f"inputs: the network takes {len(expected)} input(s) ({', '.join(expected)}) "
            f"in this order, the request has {len(request.inputs)}.",
            fields={"inputs": f"expected {len(expected)} entries"},
        )
    deployment = session.get(TaskRow, row.task_id)
    if deployment is not None and deployment.status == "error":
        raise BadRequest(
            f"The network's deployment failed, so it cannot run: {deployment.error}",
        )
    if row.outputs is None:
        return
    known = set(row.outputs)
    plain = {_without_port(name) for name in known}
    unknown = [
        name
        for name in request.output_tensors
        if name not in known and _without_port(name) not in plain
    ]
    if unknown:
        shown = sorted(known)[:_LISTED_NAMES]
        more = f" (and {len(known) - len(shown)} more)" if len(known) > len(shown) else ""
        raise UnknownTensorError(
            f"output_tensors: the network has no output named {', '.join(map(repr, unknown))}; "
            f"known names include {', '.join(shown)}{more}.",
            fields={"output_tensors": "unknown names: " + ", ".join(unknown)},
        )


def _without_port(name: str) -> str:
    """A TensorFlow name without ``:0`` means output 0 (``prob`` is ``prob:0``)."""
    return name.removesuffix(":0")
