from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import vulcain.client
from vulcain.client import (
    ClientError,
    CredentialsNotFound,
    HTTPStatusError,
    ServerError,
    TaskError,
    TaskTimeout,
    TransportError,
    VulcainException,
)

REPOSITORY = Path(__file__).resolve().parents[2]


def _private_modules() -> list[str]:
    return [
        f"vulcain.client.{info.name}"
        for info in pkgutil.iter_modules(vulcain.client.__path__)
        if info.name.startswith("_")
    ]


def test_all_lists_every_public_class_and_function_of_the_private_modules():
    defined = set()
    for module_name in _private_modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if getattr(value, "__module__", None) in (module_name, "vulcain.client"):
                defined.add(name)
    internal = {"HTTPSession", "raise_for_status", "inference_body", "tensors_from_data"}
    internal |= {"open_network_files", "arrays_from_npz"}
    assert defined - internal == set(vulcain.client.__all__)


def test_every_name_of_all_is_importable_and_reports_the_public_module():
    for name in vulcain.client.__all__:
        value = getattr(vulcain.client, name)
        assert value.__module__ == "vulcain.client", name


def test_all_is_sorted_without_duplicates():
    assert vulcain.client.__all__ == sorted(set(vulcain.client.__all__))


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (CredentialsNotFound, VulcainException),
        (TransportError, VulcainException),
        (HTTPStatusError, VulcainException),
        (ClientError, HTTPStatusError),
        (ServerError, HTTPStatusError),
        (TaskError, VulcainException),
        (TaskTimeout, VulcainException),
    ],
)
def test_exception_tree(error, parent):
    assert issubclass(error, parent)


def test_exceptions_module_opens_with_the_tree():
    doc = importlib.import_module("vulcain.client._exceptions").__doc__ or ""
    for error in ("VulcainException", "ClientError", "ServerError", "TaskError", "TaskTimeout"):
        assert error in doc


def test_client_without_a_key_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("VULCAIN_API_KEY", raising=False)
    with pytest.raises(CredentialsNotFound, match="VULCAIN_API_KEY"):
        vulcain.client.Client()


def test_client_reads_key_and_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("VULCAIN_API_KEY", "secret")
    monkeypatch.setenv("VULCAIN_URL", "http://example.invalid:9000/")
    with vulcain.client.Client() as client:
        assert client.host == "http://example.invalid:9000"
        assert client._session._http.headers["X-API-KEY"] == "secret"
        assert str(client._session._http.base_url) == "http://example.invalid:9000/v0.7/"


@pytest.mark.slow
def test_the_built_wheel_ships_py_typed(tmp_path):
    """Type checkers read the client's annotations only when the installed package carries
    ``py.typed`` (PEP 561): build the wheel as a user would install it and look inside."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPOSITORY / "vulcain", source / "vulcain", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(
        [*pip_wheel, "--quiet", "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheels").glob("vulcain-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "vulcain/client/py.typed" in archive.namelist()
