"""Terminal commands built on the client: ``vulcain networks ...`` and ``vulcain infer``.

They talk to a running server as the account of ``VULCAIN_API_KEY`` at ``VULCAIN_URL``,
exactly like :class:`vulcain.client.Client`. :func:`register` adds them to the main group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from vulcain.client import (
    ImageInput,
    Network,
    RecognitionSpec,
    RecognitionVersion,
)
from vulcain.client.cli_session import cli_client
from vulcain.client.recognition_cli import format_labels, recognition

_stderr = Console(stderr=True)


_client = cli_client


def _network_id(value: str) -> int | str:
    """``42`` is one of your networks, anything else a public slug."""
    return int(value) if value.isdigit() else value


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def _split_upload(argument: str) -> tuple[str, Path]:
    """``NAME=PATH`` uploads PATH as NAME; a bare PATH keeps its file name."""
    name, separator, path = argument.partition("=")
    if separator and name and "/" not in name:
        return name, Path(path)
    return Path(argument).name, Path(argument)


@click.command("create")
@click.option("--framework", "-f", required=True, help="nv-caffe-0.x-mod, tensorflow-1.x or onnx.")
@click.option(
    "--preprocessing",
    "-p",
    "preprocessing_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file holding the preprocessing object.",
)
@click.option("--name", "-n", help="Network name (default: the first file's folder name).")
@click.option("--description", "-d", default="", help="A longer description.")
@click.option("--metadata", "-m", "metadata_json", help="Metadata as a JSON object.")
@click.option("--no-wait", is_flag=True, help="Return once uploaded, without following deployment.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for deployment.")
@click.argument("files", nargs=-1, required=True)
def create_network(
    framework: str,
    preprocessing_file: Path,
    name: str | None,
    description: str,
    metadata_json: str | None,
    no_wait: bool,
    timeout: float,
    files: tuple[str, ...],
) -> None:
    """Upload a network from FILES (PATH, or NAME=PATH to upload under another name),
    follow its deployment and print it."""
    try:
        preprocessing = json.loads(preprocessing_file.read_text())
        metadata = json.loads(metadata_json) if metadata_json else {}
    except ValueError as error:
        raise click.BadParameter(f"not valid JSON: {error}") from None
    uploads = dict(_split_upload(argument) for argument in files)
    for upload_name, path in uploads.items():
        if not path.is_file():
            raise click.BadParameter(f"{upload_name}: no file at {path}", param_hint="FILES")
    first_path = next(iter(uploads.values()))
    network_name = name or first_path.resolve().parent.name or first_path.stem
    with _client() as client:
        network = client.Network.create(
            name=network_name,
            framework=framework,
            preprocessing=preprocessing,
            files=uploads,
            description=description,
            metadata=metadata,
            progress=sys.stderr.isatty(),
        )
        _stderr.print(f"uploaded network {network.id}, deployment task {network.task_id}")
        if not no_wait:
            with _stderr.status(f"deploying network {network.id}"):
                network.deployment().wait(timeout=timeout)
            _stderr.print(f"network {network.id} is deployed")
            network.refresh()
        _echo_json(network.data)


@click.command("list")
@click.option("--public", is_flag=True, help="List the public networks instead of yours.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON objects, one per line.")
def list_networks(public: bool, as_json: bool) -> None:
    """List your networks (every page), or the public ones."""
    with _client() as client:
        networks = list(client.Network.list(public=public))
    if as_json:
        for network in networks:
            click.echo(json.dumps(network.data, sort_keys=True))
        return
    columns = ["id", "public id", "name", "framework", "updated"]
    table = Table(*(columns if public else [c for c in columns if c != "public id"]))
    for network in networks:
        row = [str(network.id), network.name or "", network.framework or ""]
        row.append(network.update_date or "")
        if public:
            row.insert(1, network.public_id or "")
        table.add_row(*row)
    Console().print(table)


@click.command("show")
@click.argument("network_id")
def show_network(network_id: str) -> None:
    """Print a network (NETWORK_ID: an id of yours or a public slug) as JSON."""
    with _client() as client:
        _echo_json(client.Network.retrieve(_network_id(network_id)).data)


@click.command("rm")
@click.argument("network_ids", nargs=-1, required=True)
def remove_networks(network_ids: tuple[str, ...]) -> None:
    """Delete networks by id."""
    with _client() as client:
        for network_id in network_ids:
            client.Network.retrieve(_network_id(network_id)).delete()
            click.echo(f"deleted network {network_id}")


def _image_input(argument: str) -> ImageInput:
    if argument.startswith(("http://", "https://", "data:")):
        return ImageInput(argument)
    path = Path(argument)
    if not path.is_file():
        raise click.BadParameter(f"no image file at {path}", param_hint="IMAGES")
    return ImageInput(path.read_bytes(), encoding="binary")


def _describe(name: str, tensor: np.ndarray, top: int) -> str:
    flat = tensor.ravel()
    best = np.argsort(flat, kind="stable")[::-1][:top]
    values = ", ".join(f"[{i}]={flat[i]:.6g}" for i in best)
    return f"  {name}  shape={list(tensor.shape)}  largest: {values}"


@click.command("infer")
@click.argument("arguments", nargs=-1, required=True, metavar="[NETWORK_ID] IMAGES...")
@click.option("--output", "-o", "outputs", multiple=True, help="Tensor to return (networks).")
@click.option("--version", "version_id", type=int, help="Recognise with this version.")
@click.option("--spec", "spec_id", help="Recognise with this spec (an id, or a public slug).")
@click.option("--show-discarded", is_flag=True, help="Also print the labels below threshold.")
@click.option("--max-predictions", default=100, show_default=True, help="Labels per output.")
@click.option("--top", default=5, show_default=True, help="How many largest values to print.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait per image.")
def infer(
    arguments: tuple[str, ...],
    outputs: tuple[str, ...],
    version_id: int | None,
    spec_id: str | None,
    show_discarded: bool,
    max_predictions: int,
    top: int,
    timeout: float,
) -> None:
    """Run NETWORK_ID (an id of yours or a public slug) on each image (a file or a URL) and
    print each requested tensor's shape and largest values with their flat indices; or,
    with --version or --spec (then every argument is an image), print the labels found."""
    if version_id is not None or spec_id is not None:
        _recognise(arguments, version_id, spec_id, show_discarded, max_predictions, timeout)
        return
    if len(arguments) < 2:
        raise click.UsageError("give NETWORK_ID and at least one image (or --version N)")
    if not outputs:
        raise click.UsageError("name the tensors to return with --output (or use --version N)")
    network_id, images = arguments[0], arguments[1:]
    inputs = [_image_input(image) for image in images]
    with _client() as client:
        network: Network = client.Network.retrieve(_network_id(network_id))
        for image, item in zip(images, inputs, strict=True):
            tensors = network.inference([item], list(outputs), timeout=timeout)
            click.echo(image)
            for name, tensor in tensors.items():
                click.echo(_describe(name, tensor, top))


def _recognise(
    images: tuple[str, ...],
    version_id: int | None,
    spec_id: str | None,
    show_discarded: bool,
    max_predictions: int,
    timeout: float,
) -> None:
    if version_id is not None and spec_id is not None:
        raise click.UsageError("give --version or --spec, not both")
    inputs = [_image_input(image) for image in images]
    with _client() as client:
        target: RecognitionSpec | RecognitionVersion = (
            client.RecognitionVersion.retrieve(version_id)
            if version_id is not None
            else client.RecognitionSpec.retrieve(_network_id(spec_id or ""))
        )
        for image, item in zip(images, inputs, strict=True):
            data = target.inference(
                [item],
                show_discarded=show_discarded,
                max_predictions=max_predictions,
                timeout=timeout,
            )
            click.echo(image)
            for line in format_labels(data):
                click.echo(line)


NETWORK_COMMANDS: tuple[click.Command, ...] = (
    create_network,
    list_networks,
    show_network,
    remove_networks,
)


def register(group: click.Group) -> None:
    """Add ``networks create|list|show|rm``, ``recognition specs|versions ...`` and
    ``infer`` to ``group`` (the ``vulcain``
    command). An existing ``networks`` group (with ``publish``, say) is extended in place."""
    networks = group.commands.get("networks")
    if not isinstance(networks, click.Group):
        networks = click.Group("networks", help="Create, list, show and delete networks.")
        group.add_command(networks)
    for command in NETWORK_COMMANDS:
        networks.add_command(command)
    group.add_command(infer)
    group.add_command(recognition)
