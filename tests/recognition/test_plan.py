"""A recognition plan travels with its stored request (what a restarted process or a
Celery worker reads back), thresholds filled in, tensors named once."""

from __future__ import annotations

from vulcain.recognition.plan import make_plan
from vulcain.recognition.schemas import PostProcessing, SpecOutput
from vulcain.schemas import InferenceRequest
from vulcain.tasks.payloads import decode_request, encode_request


def _plan():
    outputs = [
        SpecOutput.model_validate(
            {"labels": {"labels": [{"id": 4, "name": "a"}, {"id": 9, "name": "b"}], "roi": roi}}
        )
        for roi in ("NONE", "BBOX")
    ]
    steps = [
        PostProcessing.model_validate({"classification": {"output_tensor": "prob"}}),
        PostProcessing.model_validate(
            {
                "detection": {
                    "nms_threshold": 0.4,
                    "anchored_output": {
                        "anchors_tensor": "anchors",
                        "offsets_tensor": "offsets",
                        "scores_tensor": "prob",
                    },
                }
            }
        ),
    ]
    return make_plan(outputs, steps, show_discarded=True, max_predictions=7)


def test_the_plan_survives_the_stored_request():
    plan = _plan()
    assert plan.tensor_names() == ["prob", "anchors", "offsets"]
    assert plan.outputs[0].post_processing.thresholds == [0.025, 0.025]
    assert plan.outputs[1].post_processing.thresholds == [0.5, 0.5]
    assert plan.framed
    request = InferenceRequest.model_validate(
        {
            "inputs": [
                {
                    "image": {
                        "source": b"\x89PNG bytes",
                        "bbox": {"xmin": 0.1, "ymin": 0.2, "xmax": 0.9, "ymax": 1.0},
                    }
                }
            ],
            "output_tensors": plan.tensor_names(),
        }
    )
    decoded, decoded_plan = decode_request(encode_request(request, plan))
    assert decoded == request
    assert decoded_plan == plan
    assert decode_request(encode_request(request)) == (request, None)
