"""Accounts and API keys. Keys are random tokens stored only as their sha256."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from vulcain.db.database import Database, advisory_lock
from vulcain.db.models import AccountRow
from vulcain.errors import BadRequest, NotFound, Unauthorized
from vulcain.schemas import Account

_BOOTSTRAP_LOCK_ID = 0x76756C61  # "vula": serialises first-admin creation across replicas
ENSURE_ATTEMPTS = 3


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return secrets.token_hex(32)


def to_account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        app_id=row.app_id,
        is_admin=row.is_admin,
        create_date=row.create_date,
    )


def _check_app_id(account: Account, app_id: str | None) -> Account:
    if app_id is not None and app_id != account.app_id:
        raise Unauthorized("The X-APP-ID header does not match the account of the API key.")
    return account


class AccountService:
    """Creates accounts and tells who an API key belongs to.

    Who a key belongs to is remembered for ``cache_seconds`` (every request is
    authenticated, most by the same few keys), so a change to an account, such as its
    promotion to admin by another replica, shows within that time."""

    _CACHE_ENTRIES = 1024

    def __init__(self, db: Database, *, cache_seconds: float = 0.0) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Account]] = {}

    def authenticate(self, api_key: str | None, app_id: str | None) -> Account:
        """The account of ``api_key`` (the ``X-API-KEY`` header). ``app_id`` (``X-APP-ID``),
        when sent, must be that account's. Raise :class:`Unauthorized` otherwise."""
        if not api_key:
            raise Unauthorized("Missing API key: send it in the X-API-KEY header.")
        return _check_app_id(self._account_of(hash_api_key(api_key)), app_id)

    def remembered(self, api_key: str, app_id: str | None) -> Account | None:
        """What :meth:`authenticate` answers, when this process remembers the key's account
        (no I/O); ``None`` when the database must be asked."""
        cached = self._cache.get(hash_api_key(api_key))
        if cached is None or cached[0] <= time.monotonic():
            return None
        return _check_app_id(cached[1], app_id)

    def _account_of(self, key_hash: str) -> Account:
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._db.session() as session:
            row = session.scalars(
                select(AccountRow).where(AccountRow.api_key_hash == key_hash)
            ).one_or_none()
        if row is None:
            raise Unauthorized("Invalid API key: check the X-API-KEY header.")
        account = to_account(row)
        if self._cache_seconds > 0:
            if len(self._cache) >= self._CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key_hash] = (now + self._cache_seconds, account)
        return account

    def create(
        self, name: str, *, admin: bool = False, api_key: str | None = None
    ) -> tuple[Account, str]:
        """Create an account; return it with its API key, which is shown only this once.
        ``api_key`` chooses the key instead of drawing a random one."""
        name = name.strip()
        if not name:
            raise BadRequest("An account needs a non-empty name.", fields={"name": "required"})
        key = api_key or new_api_key()
        with self._db.session() as session:
            key_hash = hash_api_key(key)
            if session.scalars(
                select(AccountRow.id).where(AccountRow.api_key_hash == key_hash)
            ).first():
                raise BadRequest("Another account already uses this API key.")
            row = AccountRow(
                name=name, app_id=secrets.token_hex(8), api_key_hash=key_hash, is_admin=admin
            )
            session.add(row)
            session.flush()
            account = to_account(row)
        return account, key

    def get(self, account_id: int) -> Account:
        """The account with this id; :class:`NotFound` when there is none."""
        with self._db.session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                raise NotFound(f"There is no account {account_id}.")
            return to_account(row)

    def exists_any(self) -> bool:
        """Whether the database holds at least one account."""
        with self._db.session() as session:
            return session.scalars(select(AccountRow.id).limit(1)).first() is not None

    def create_first_admin(self, name: str = "admin") -> tuple[Account, str] | None:
        """Create an admin account if the database has no account at all; return it with
        its key, or ``None`` when an account exists. Replicas starting together on an empty
        database create one admin between them (an advisory lock on PostgreSQL; on SQLite
        the insert is counted after it, under SQLite's single writer)."""
        key = new_api_key()
        with self._db.session() as session:
            advisory_lock(session, _BOOTSTRAP_LOCK_ID)
            row = AccountRow(
                name=name,
                app_id=secrets.token_hex(8),
                api_key_hash=hash_api_key(key),
                is_admin=True,
            )
            session.add(row)
            session.flush()
            if session.scalar(select(func.count()).select_from(AccountRow)) != 1:
                session.rollback()
                return None
            account = to_account(row)
        return account, key

    def ensure_admin(self, api_key: str, *, name: str = "admin") -> Account:
        """Make sure an admin account with ``api_key`` exists (``VULCAIN_BOOTSTRAP_API_KEY``):
        create it, or make the account holding that key an admin. Safe when several
        replicas do it at once."""
        for _ in range(ENSURE_ATTEMPTS):
            with self._db.session() as session:
                row = session.scalars(
                    select(AccountRow).where(AccountRow.api_key_hash == hash_api_key(api_key))
                ).one_or_none()
                if row is not None:
                    row.is_admin = True
                    session.flush()
                    return to_account(row)
            try:
                account, _ = self.create(name, admin=True, api_key=api_key)
            except (IntegrityError, BadRequest):
                continue  # another replica created it in between: read it
            return account
        raise RuntimeError("could not create or find the bootstrap admin account")
