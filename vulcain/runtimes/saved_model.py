"""The files of an uploaded TensorFlow SavedModel, checked and laid out for the loader.

Users upload ``saved_model.pb`` (or ``.pbtxt``) and the variables files flat; the loader
wants ``<dir>/saved_model.pb`` and ``<dir>/variables/variables.*``. :func:`staged_export`
builds that layout with symbolic links in a private temporary folder that lives only while
the model loads (the variables are restored into the session's memory).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from google.protobuf import text_format
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from vulcain.errors import ModelError

SERVE_TAG = "serve"
_DATA_FILE = re.compile(r"variables\.data-(\d{5})-of-(\d{5})")
_VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable"}


def model_file(folder: Path) -> Path:
    for name in ("saved_model.pb", "saved_model.pbtxt"):
        if (folder / name).is_file():
            return folder / name
    raise ModelError(
        "The file saved_model.pb (or saved_model.pbtxt) is missing: upload the SavedModel's "
        "graph with the network."
    )


def read_saved_model(path: Path) -> saved_model_pb2.SavedModel:
    saved_model = saved_model_pb2.SavedModel()
    try:
        if path.suffix == ".pbtxt":
            text_format.Parse(path.read_text(encoding="utf-8"), saved_model)
        else:
            saved_model.ParseFromString(path.read_bytes())
    except text_format.ParseError as error:
        raise ModelError(f"saved_model.pbtxt has a syntax error: {error}.") from None
    except UnicodeDecodeError:
        raise ModelError("saved_model.pbtxt is not a UTF-8 text file.") from None
    except DecodeError:
        raise ModelError(
            "saved_model.pb is corrupt: protobuf cannot decode it as a SavedModel."
        ) from None
    return saved_model


def serving_meta_graph(saved_model: saved_model_pb2.SavedModel) -> meta_graph_pb2.MetaGraphDef:
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return meta_graph
    tag_sets = [list(meta.meta_info_def.tags) for meta in saved_model.meta_graphs]
    raise ModelError(
        f"The SavedModel has no graph tagged {SERVE_TAG!r} (its tag sets: {tag_sets}): "
        "export it with tag_constants.SERVING."
    )


def variables_files(folder: Path, meta_graph: meta_graph_pb2.MetaGraphDef) -> list[Path]:
    """The uploaded variables files; raise when the graph has variables and some are missing."""
    index = folder / "variables.index"
    shards = sorted(path for path in folder.iterdir() if _DATA_FILE.fullmatch(path.name))
    has_variables = any(node.op in _VARIABLE_OPS for node in meta_graph.graph_def.node)
    if not has_variables and not index.is_file():
        return shards
    if not index.is_file():
        raise ModelError(
            "The file variables.index is missing: this SavedModel has variables, so upload "
            "variables.index and variables.data-00000-of-00001 from its variables folder."
        )
    if not shards:
        raise ModelError(
            "The variables data file is missing: upload variables.data-00000-of-00001 (all "
            "variables.data-* files) from the SavedModel's variables folder."
        )
    first = _DATA_FILE.fullmatch(shards[0].name)
    assert first is not None  # the shards were chosen by this pattern
    total = int(first.group(2))
    expected = {f"variables.data-{i:05d}-of-{total:05d}" for i in range(total)}
    missing = sorted(expected - {path.name for path in shards})
    if missing:
        raise ModelError(
            f"Variables data files are missing: {', '.join(missing)}; upload every shard."
        )
    return [index, *shards]


@contextmanager
def staged_export(model: Path, variables: list[Path]) -> Iterator[Path]:
    """A temporary SavedModel folder linking to the uploaded files, removed afterwards."""
    export = Path(tempfile.mkdtemp(prefix="vulcain-savedmodel-"))
    try:
        (export / model.name).symlink_to(model.resolve())
        if variables:
            (export / "variables").mkdir()
            for path in variables:
                (export / "variables" / path.name).symlink_to(path.resolve())
        yield export
    finally:
        shutil.rmtree(export, ignore_errors=True)
