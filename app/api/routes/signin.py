"""`POST /api/signin/redeem`: a one-time sign-in code (from the run command's link) for a
bearer token. JSON only: the UI's sign-in route calls it with what its page POSTed."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import RedisDep, SettingsDep
from app.api.routes._responses import errors
from app.api.schemas import SigninCode, SigninToken
from app.services.signin import redeem_signin_code

router = APIRouter(prefix="/api/signin", tags=["auth"], responses=errors())


@router.post("/redeem", response_model=SigninToken)
async def redeem(body: SigninCode, redis: RedisDep, settings: SettingsDep) -> SigninToken:
    """Exchange a sign-in code for a token; the code is consumed (401 when invalid, used or
    expired)."""
    signed_in = await redeem_signin_code(redis, settings, body.code)
    return SigninToken(token=signed_in.token, tenant_id=signed_in.tenant_id)
