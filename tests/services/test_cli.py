from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner

from tests.services.conftest import unique_files
from tests.services.test_networks import create
from vulcain.cli import main
from vulcain.services import Services


@pytest.fixture
def cli_env(settings) -> dict[str, str]:
    return {
        "VULCAIN_DATA_DIR": str(settings.data_dir),
        "VULCAIN_DATABASE_URL": settings.database_url,
    }


def test_migrate_then_create_accounts(cli_env, settings):
    runner = CliRunner()
    result = runner.invoke(main, ["migrate"], env=cli_env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["accounts", "create", "carol", "--admin"], env=cli_env)
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert set(record) == {"id", "name", "app_id", "api_key"} and record["name"] == "carol"
    services = Services(settings, out=io.StringIO())
    try:
        account = services.accounts.authenticate(record["api_key"], record["app_id"])
    finally:
        services.close()
    assert account.id == record["id"] and account.is_admin


def test_publish_from_the_command_line(cli_env, services, account, other_account):
    network = create(services, account, files=unique_files("model.onnx"))
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(main, ["networks", "publish", str(network.id), slug], env=cli_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["public_id"] == slug
    assert services.networks.get(other_account, slug).id == network.id

    result = CliRunner().invoke(main, ["networks", "publish", "999999", "x-slug"], env=cli_env)
    assert result.exit_code != 0 and "no network 999999" in result.output


_PUBLISH_AND_LIST_MODULES = """
import sys
from vulcain.cli import main
main(["networks", "publish", sys.argv[1], sys.argv[2]], standalone_mode=False)
print(" ".join(sorted(sys.modules)))
"""


def test_publish_builds_only_the_database(cli_env, services, account, other_account):
    network = create(services, account, files=unique_files("model.onnx"))
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VULCAIN_")} | cli_env
    result = subprocess.run(
        [sys.executable, "-c", _PUBLISH_AND_LIST_MODULES, str(network.id), slug],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    output, modules = result.stdout.rsplit("\n", 2)[-3:-1]
    assert json.loads(output)["public_id"] == slug
    assert services.networks.get(other_account, slug).id == network.id
    heavy = ("cv2", "celery", "boto3", "vulcain.inference", "vulcain.storage", "vulcain.tasks")
    assert not [name for name in modules.split() if name.startswith(heavy)]
