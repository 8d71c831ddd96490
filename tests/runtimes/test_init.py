from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vulcain.errors import ModelError
from vulcain.frameworks import FRAMEWORKS
from vulcain.runtimes import load_runtime, runtime_class

ROOT = Path(__file__).resolve().parents[2]


def test_every_framework_has_a_runtime():
    for framework in FRAMEWORKS:
        if framework != "tensorflow-1.x":  # imported by test_tensorflow, once
            assert runtime_class(framework).framework == framework


def test_unknown_framework():
    with pytest.raises(ModelError, match="Unknown framework 'caffe2': use one of"):
        load_runtime("caffe2", Path("."))


def test_tensorflow_is_imported_only_for_tensorflow_networks(tmp_path: Path):
    script = f"""
import sys
from pathlib import Path
from tests import builders
from vulcain.runtimes import load_runtime
builders.caffe_identity(Path({str(tmp_path / "caffe")!r}))
builders.onnx_identity(Path({str(tmp_path / "onnx")!r}))
load_runtime("nv-caffe-0.x-mod", Path({str(tmp_path / "caffe")!r}))
load_runtime("onnx", Path({str(tmp_path / "onnx")!r}))
print("tensorflow" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
