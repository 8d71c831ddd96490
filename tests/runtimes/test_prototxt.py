from __future__ import annotations

import pytest

from vulcain.errors import ModelError
from vulcain.runtimes.prototxt import declared_inputs, parse_prototxt, rewrite_python_layers

PYTHON_LAYER = """name: "frcnn"  # a comment with layer { braces
input: "data"
input_shape { dim: 1 dim: 3 dim: 224 dim: 224 }
input: "im_info"
input_dim: 1 input_dim: 3 input_dim: 1 input_dim: 1
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 2 kernel_size: 1 } }
layer {
  name: 'proposal'
  type: 'Python'
  bottom: 'rpn_cls_prob_reshape'
  bottom: 'rpn_bbox_pred'
  bottom: 'im_info'
  top: 'rois'
  python_param {
    module: 'rpn.proposal_layer'
    layer: 'ProposalLayer'
    param_str: "PARAMS"
  }
}
layer { name: "after" type: "ReLU" bottom: "rois" top: "after" }
"""


def _rewritten(params: str) -> str:
    return rewrite_python_layers(parse_prototxt(PYTHON_LAYER.replace("PARAMS", params)))


def test_inputs_from_input_shape_and_input_dim():
    net = parse_prototxt(PYTHON_LAYER).net
    assert declared_inputs(net) == {"data": (1, 3, 224, 224), "im_info": None}


def test_proposal_layer_defaults():
    text = _rewritten("'feat_stride': 16")
    assert 'type: "VulcainProposal"' in text and "Python" not in text
    assert 'bottom: "rpn_cls_prob_reshape"\n  bottom: "rpn_bbox_pred"\n  bottom: "im_info"' in text
    assert 'top: "rois"' in text
    assert (
        "feat_stride: 16 base_size: 16 min_size: 16 pre_nms_topn: 6000 post_nms_topn: 300" in text
    )
    assert "scale: 8.0 scale: 16.0 scale: 32.0 ratio: 0.5 ratio: 1.0 ratio: 2.0" in text
    assert text.startswith('name: "frcnn"') and 'name: "after"' in text and "num_output: 2" in text
    rewritten = parse_prototxt(text).net
    assert [layer.name for layer in rewritten.layer] == ["conv", "proposal", "after"]


def test_proposal_layer_given_scales_and_ratios():
    text = _rewritten("{'feat_stride': 8, 'scales': [4, 8], 'ratios': [1]}")
    assert "feat_stride: 8 " in text
    assert "scale: 4.0 scale: 8.0 ratio: 1.0 }" in text


def test_unreadable_param_str():
    with pytest.raises(ModelError, match=r"param_str .* cannot be read"):
        _rewritten("'feat_stride': [")


def test_syntax_error_gives_line_and_column():
    with pytest.raises(ModelError, match=r"syntax error: 3:"):
        parse_prototxt('name: "x"\ninput: "data"\ninput_shape { dim: one }\n')


def test_unknown_fields_are_skipped_not_refused():
    net = parse_prototxt('layer { name: "a" type: "X" some_param { deep { x: 1 } } }').net
    assert net.layer[0].name == "a"
