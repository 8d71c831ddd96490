from __future__ import annotations

import io
import json
import time
import uuid

import pytest
from sqlalchemy import select

from vulcain.db.models import AccountRow
from vulcain.errors import Unauthorized
from vulcain.services import Services
from vulcain.services.accounts import AccountService, hash_api_key


def test_keys_authenticate_their_account_and_are_stored_hashed(services):
    account, api_key = services.accounts.create("alice")
    assert len(api_key) == 64
    assert services.accounts.authenticate(api_key, None) == account
    assert services.accounts.authenticate(api_key, account.app_id) == account
    with services.db.session() as session:
        row = session.get(AccountRow, account.id)
        assert row.api_key_hash == hash_api_key(api_key) != api_key


@pytest.mark.parametrize(
    ("key", "app_id", "message"),
    [
        (None, None, "Missing API key"),
        ("", None, "Missing API key"),
        ("wrong", None, "Invalid API key"),
        ("own", "someone-else", "X-APP-ID"),
    ],
)
def test_bad_credentials_are_unauthorized(services, key, app_id, message):
    _, api_key = services.accounts.create("bob")
    with pytest.raises(Unauthorized, match=message):
        services.accounts.authenticate(api_key if key == "own" else key, app_id)


def test_first_start_on_an_empty_database_prints_an_admin_key(settings, tmp_path):
    settings.database_url = f"sqlite:///{tmp_path / 'empty.db'}"
    first_out = io.StringIO()
    first = Services(settings, out=first_out)
    first.start()
    first.close()
    printed = first_out.getvalue()
    api_key = next(
        line.split(":", 1)[1].strip() for line in printed.splitlines() if "API key" in line
    )
    again_out = io.StringIO()
    second = Services(settings, out=again_out)
    second.start()
    try:
        assert second.accounts.authenticate(api_key, None).is_admin
    finally:
        second.close()
    assert again_out.getvalue() == ""


def test_bootstrap_key_makes_sure_that_admin_exists(settings):
    key = uuid.uuid4().hex
    settings.bootstrap_api_key = key
    for _ in range(2):
        services = Services(settings, out=io.StringIO())
        services.start()
        try:
            assert services.accounts.authenticate(key, None).is_admin
            with services.db.session() as session:
                rows = session.scalars(
                    select(AccountRow).where(AccountRow.api_key_hash == hash_api_key(key))
                ).all()
            assert len(rows) == 1
        finally:
            services.close()


def test_bootstrap_key_promotes_an_existing_account(services, settings):
    account, key = services.accounts.create("promoted")
    settings.bootstrap_api_key = key
    again = Services(settings, out=io.StringIO())
    again.start()
    try:
        assert again.accounts.authenticate(key, None).is_admin
    finally:
        again.close()
    assert json.loads(account.model_dump_json())["create_date"].endswith("Z")


def test_a_key_is_remembered_for_the_cache_time_only(services):
    account, key = services.accounts.create("cached-" + uuid.uuid4().hex[:6])
    accounts = AccountService(services.db, cache_seconds=0.3)
    assert not accounts.authenticate(key, None).is_admin
    with services.db.session() as session:
        session.get(AccountRow, account.id).is_admin = True
    assert not accounts.authenticate(key, None).is_admin
    time.sleep(0.35)
    assert accounts.authenticate(key, None).is_admin
    with pytest.raises(Unauthorized, match="Invalid API key"):
        accounts.authenticate(key + "x", None)
    uncached = AccountService(services.db)
    assert uncached.authenticate(key, None).is_admin
