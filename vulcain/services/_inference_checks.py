"""What an inference request is checked against before it is accepted, once: the size of
its images, the number of inputs, a failed deployment, and the output names the deployed
network has. The engine relies on these checks and does not repeat them."""

from __future__ import annotations

from vulcain.errors import BadRequest, PayloadTooLarge, UnknownTensorError
from vulcain.schemas import InferenceRequest
from vulcain.services._catalog import InferenceTarget


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


def check_request(
    target: InferenceTarget, request: InferenceRequest, *, outputs: bool = True
) -> None:
    """Raise :class:`vulcain.errors.BadRequest` for what would make the task fail for sure
    (the output names too, with ``outputs``)."""
    expected = [entry.tensor_name for entry in target.network.preprocessing.inputs]
    if len(request.inputs) != len(expected):
        raise BadRequest(
            f"inputs: the network takes {len(expected)} input(s) ({', '.join(expected)}) "
            f"in this order, the request has {len(request.inputs)}.",
            fields={"inputs": f"expected {len(expected)} entries"},
        )
    if target.deployment_error is not None:
        raise BadRequest(
            f"The network's deployment failed, so it cannot run: {target.deployment_error}",
        )
    if target.outputs is None or not outputs:
        return
    known = target.known_outputs
    unknown = [name for name in request.output_tensors if name not in known]
    if unknown:
        error = UnknownTensorError.for_names(unknown, target.outputs)
        error.fields = {"output_tensors": "unknown names: " + ", ".join(unknown)}
        raise error
