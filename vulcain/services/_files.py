"""Checks on the files of a new network: plain names and the rules of its framework."""

from __future__ import annotations

from collections.abc import Iterable

from vulcain.errors import BadRequest
from vulcain.frameworks import FRAMEWORKS, TENSORFLOW, FileRules
from vulcain.schemas import Preprocessing

MAX_FILE_NAME_BYTES = 255
_MEANS = "mean files ending in .binaryproto or .npy"
_OPTIONAL = {TENSORFLOW: f"variables.index, variables.data-NNNNN-of-NNNNN and {_MEANS}"}


def check_file_name(name: str) -> None:
    """A plain file name: no path separators, no ``..``, no NUL or control characters."""
    problem = None
    if not name or name in (".", ".."):
        problem = "is empty or a directory name"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif ".." in name:
        problem = "contains '..'"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        problem = "contains a control character"
    elif len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        problem = f"is longer than {MAX_FILE_NAME_BYTES} bytes"
    if problem:
        raise BadRequest(
            f"File name {name!r} {problem}: send each file under its plain name, "
            "such as deploy.prototxt.",
            fields={f"files.{name}": problem},
        )


def framework_rules(framework: str) -> FileRules:
    rules = FRAMEWORKS.get(framework)
    if rules is None:
        choices = ", ".join(FRAMEWORKS)
        raise BadRequest(
            f"framework: must be one of {choices}, not {framework!r}.",
            fields={"framework": f"must be one of {choices}"},
        )
    return rules


def check_files(framework: str, preprocessing: Preprocessing, names: Iterable[str]) -> None:
    """Raise :class:`BadRequest` naming the first problem with the uploaded file names."""
    rules = framework_rules(framework)
    names = list(names)
    for name in names:
        check_file_name(name)
    unexpected = [name for name in names if not rules.allows(name)]
    if unexpected:
        raise BadRequest(
            f"Unexpected file {unexpected[0]!r} for framework {framework}: it takes "
            f"{_describe(rules)}, and optionally {_OPTIONAL.get(framework, _MEANS)}.",
            fields={f"files.{unexpected[0]}": "unexpected file"},
        )
    missing = rules.missing(set(names))
    if missing:
        raise BadRequest(
            f"Missing file for framework {framework}: {'; '.join(missing)}.",
            fields={"files": f"missing {'; '.join(missing)}"},
        )
    for index, entry in enumerate(preprocessing.inputs):
        mean_file = entry.image.mean_file
        if mean_file is not None and mean_file not in names:
            field = f"preprocessing.inputs[{index}].image.mean_file"
            raise BadRequest(
                f"{field}: {mean_file!r} is not among the uploaded files; upload it too.",
                fields={field: "not among the uploaded files"},
            )


def _describe(rules: FileRules) -> str:
    return ", ".join(" or ".join(group) for group in rules.required)
