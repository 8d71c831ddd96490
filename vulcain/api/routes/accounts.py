"""``/accounts/me``: who the API key belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from vulcain.api.auth import CurrentAccount
from vulcain.schemas import Account

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("/me", response_model=Account, summary="The account of your API key")
async def me(account: CurrentAccount) -> Account:
    return account
