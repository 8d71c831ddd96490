"""``vulcain recognition specs|versions ...`` and the labels ``vulcain infer --version``
prints. Attached by :func:`vulcain.client.cli.register`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from vulcain.client.cli_session import cli_client

ROIS = ("NONE", "BBOX")


def _json_argument(value: str, what: str) -> Any:
    """``value`` as JSON, or the JSON of the file it names."""
    text = Path(value).read_text() if Path(value).is_file() else value
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"{what}: not valid JSON (nor a JSON file): {error}") from None


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def _spec_ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def format_labels(data: dict[str, Any]) -> list[str]:
    """The lines ``vulcain infer`` prints for a recognition task's data: each output's
    predicted labels (then discarded ones, marked), score against threshold, and box."""
    lines = []
    for index, output in enumerate(data.get("outputs", [])):
        labels = output.get("labels", {})
        lines.append(f"  output {index}:")
        shown = [(p, "") for p in labels.get("predicted", [])]
        shown += [(p, "  (discarded)") for p in labels.get("discarded", [])]
        if not shown:
            lines.append("    no label")
        for prediction, mark in shown:
            text = (
                f"    {prediction['label_name']} (id {prediction['label_id']})  "
                f"{prediction['score']:.4f} / threshold {prediction['threshold']:g}"
            )
            roi = prediction.get("roi")
            if roi:
                box = roi["bbox"]
                text += (
                    f"  region {roi['region_id']} box ({box['xmin']:.3f}, {box['ymin']:.3f})-"
                    f"({box['xmax']:.3f}, {box['ymax']:.3f})"
                )
            lines.append(text + mark)
    return lines


@click.group("recognition")
def recognition() -> None:
    """Recognition specs (labels) and versions (a spec on a network)."""


@recognition.group("specs")
def specs() -> None:
    """Create, list, show, edit and delete recognition specs."""


@specs.command("create")
@click.option("--name", "-n", required=True, help="The spec's name.")
@click.option("--labels", "-l", "label_names", help="Comma-separated label names (ids 0, 1, ...).")
@click.option("--roi", type=click.Choice(ROIS), default="NONE", show_default=True)
@click.option("--exclusive", is_flag=True, help="Labels exclude each other.")
@click.option("--outputs", "outputs_json", help="The outputs as JSON (or a JSON file) instead.")
@click.option("--description", "-d", default="")
def create_spec(
    name: str,
    label_names: str | None,
    roi: str,
    exclusive: bool,
    outputs_json: str | None,
    description: str,
) -> None:
    """Create a spec with one output of LABELS, or the --outputs given; print it."""
    if outputs_json:
        outputs = _json_argument(outputs_json, "--outputs")
    elif label_names:
        labels = [
            {"id": index, "name": name.strip()} for index, name in enumerate(label_names.split(","))
        ]
        outputs = [{"labels": {"labels": labels, "roi": roi, "exclusive": exclusive}}]
    else:
        raise click.UsageError("give --labels or --outputs")
    with cli_client() as client:
        spec = client.RecognitionSpec.create(name=name, outputs=outputs, description=description)
    _echo_json(spec.data)


@specs.command("list")
@click.option("--public", is_flag=True, help="The public specs instead of yours.")
def list_specs(public: bool) -> None:
    """List your specs (or the public ones)."""
    with cli_client() as client:
        found = list(client.RecognitionSpec.list(public=public))
    table = Table("id", "name", "current version", "updated")
    for spec in found:
        current = spec.data.get("current_version_id")
        table.add_row(
            str(spec.id),
            spec.name or "",
            "" if current is None else str(current),
            spec.data.get("update_date", ""),
        )
    Console().print(table)


@specs.command("show")
@click.argument("spec_id")
def show_spec(spec_id: str) -> None:
    """Print a spec (an id of yours or a public slug) and its versions."""
    with cli_client() as client:
        spec = client.RecognitionSpec.retrieve(_spec_ref(spec_id))
        data = dict(spec.data)
        if isinstance(spec.id, int):
            data["versions"] = [version.data for version in spec.versions()]
    _echo_json(data)


@specs.command("set-current")
@click.argument("spec_id", type=int)
@click.argument("version_id", type=int, required=False)
def set_current(spec_id: int, version_id: int | None) -> None:
    """Make VERSION_ID the version SPEC_ID infers with (none when left out)."""
    with cli_client() as client:
        spec = client.RecognitionSpec.retrieve(spec_id)
        spec.update(current_version_id=version_id)
    click.echo(f"spec {spec_id}: current version {spec.current_version_id}")


@specs.command("rm")
@click.argument("spec_ids", nargs=-1, required=True)
def remove_specs(spec_ids: tuple[str, ...]) -> None:
    """Delete specs (and their versions)."""
    with cli_client() as client:
        for spec_id in spec_ids:
            client.RecognitionSpec.retrieve(_spec_ref(spec_id)).delete()
            click.echo(f"deleted spec {spec_id}")


@recognition.group("versions")
def versions() -> None:
    """Create, list, show and delete recognition versions."""


@versions.command("create")
@click.option("--spec", "spec_id", type=int, required=True, help="The spec's id.")
@click.option("--network", "network_id", required=True, help="A network id, or a public slug.")
@click.option("--classification", "output_tensor", help="Classify with this output tensor.")
@click.option(
    "--post-processings", "post_json", help="The post-processings as JSON (or a JSON file)."
)
def create_version(
    spec_id: int, network_id: str, output_tensor: str | None, post_json: str | None
) -> None:
    """Bind a spec to a network: --classification TENSOR for a one-output classification,
    else --post-processings; print the version."""
    if post_json:
        steps = _json_argument(post_json, "--post-processings")
    elif output_tensor:
        steps = [{"classification": {"output_tensor": output_tensor}}]
    else:
        raise click.UsageError("give --classification or --post-processings")
    with cli_client() as client:
        version = client.RecognitionVersion.create(
            spec_id=spec_id, network_id=_spec_ref(network_id), post_processings=steps
        )
    _echo_json(version.data)


@versions.command("list")
def list_versions() -> None:
    """List your versions."""
    with cli_client() as client:
        found = list(client.RecognitionVersion.list())
    table = Table("id", "spec", "network", "kinds")
    for version in found:
        kinds = ", ".join(next(iter(step)) for step in version.post_processings)
        table.add_row(
            str(version.id),
            f"{version.spec_id} {version.data.get('spec_name', '')}",
            f"{version.network_id} {version.data.get('network_name', '')}",
            kinds,
        )
    Console().print(table)


@versions.command("show")
@click.argument("version_id", type=int)
def show_version(version_id: int) -> None:
    with cli_client() as client:
        _echo_json(client.RecognitionVersion.retrieve(version_id).data)


@versions.command("rm")
@click.argument("version_ids", nargs=-1, required=True, type=int)
def remove_versions(version_ids: tuple[int, ...]) -> None:
    with cli_client() as client:
        for version_id in version_ids:
            client.RecognitionVersion.retrieve(version_id).delete()
            click.echo(f"deleted version {version_id}")
