from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from vulcain.client.cli import register


@pytest.fixture(scope="module")
def vulcain_command() -> click.Group:
    @click.group()
    def vulcain() -> None:
        pass

    @vulcain.group()
    def networks() -> None:
        """Owned by vulcain/cli.py, extended by register()."""

    @networks.command()
    def publish() -> None:
        click.echo("publish kept")

    register(vulcain)
    return vulcain


@pytest.fixture
def run(server, vulcain_command):
    runner = CliRunner()
    env = {"VULCAIN_URL": server.url, "VULCAIN_API_KEY": server.api_key}

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(vulcain_command, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_register_extends_an_existing_networks_group(vulcain_command):
    networks = vulcain_command.commands["networks"]
    assert set(networks.commands) == {"publish", "create", "list", "show", "rm"}
    assert "infer" in vulcain_command.commands


def test_create_list_show_infer_rm(run, identity_files, image_dir):
    code, out, err = run(
        "networks", "create", "--framework", "onnx",
        "--preprocessing", str(image_dir / "preprocessing.json"),
        "--name", "from the cli", "--metadata", '{"by": "cli"}',
        str(identity_files["model.onnx"]),
    )  # fmt: skip
    assert code == 0, err
    network = json.loads(out)
    assert network["name"] == "from the cli"
    assert network["metadata"] == {"by": "cli"}
    assert f"network {network['id']} is deployed" in err

    code, out, _ = run("networks", "list", "--json")
    assert code == 0
    assert network["id"] in [json.loads(line)["id"] for line in out.splitlines()]

    code, out, _ = run("networks", "list")
    assert code == 0 and "from the cli" in out

    code, out, _ = run("networks", "show", str(network["id"]))
    assert code == 0 and json.loads(out)["id"] == network["id"]

    image = str(image_dir / "image.png")
    code, out, err = run("infer", str(network["id"]), image, image, "--output", "out", "--top", "3")
    assert code == 0, err
    assert out.count("out  shape=[1, 3, 6, 8]  largest: ") == 2
    assert out.splitlines()[0] == image

    code, out, _ = run("networks", "rm", str(network["id"]))
    assert code == 0 and f"deleted network {network['id']}" in out
    code, _, err = run("networks", "show", str(network["id"]))
    assert code == 1
    assert "404" in err


def test_create_with_a_missing_file_is_a_usage_error(run, image_dir, tmp_path):
    code, _, err = run(
        "networks", "create", "-f", "onnx", "-p", str(image_dir / "preprocessing.json"),
        f"model.onnx={tmp_path / 'absent'}",
    )  # fmt: skip
    assert code == 2
    assert "model.onnx" in err


def test_infer_reports_a_failed_inference(run, identity_network, image_dir):
    code, _, err = run(
        "infer", str(identity_network.id), str(image_dir / "not-an-image.png"), "-o", "out"
    )
    assert code == 1
    assert "task" in err and "failed" in err


def test_the_vulcain_command_carries_the_client_commands():
    from vulcain.cli import main

    result = CliRunner().invoke(main, ["networks", "--help"])
    assert result.exit_code == 0
    for command in ("create", "list", "show", "rm", "publish"):
        assert command in result.output
    assert "infer" in main.commands
