"""`WS /ws/chat/{project_id}`: the chat socket.

Auth by subprotocol `bearer, <jwt>` before accept (the server echoes `bearer`). A
missing or bad token closes the handshake with 1008 (the client sees HTTP 403); a
project that is not the tenant's is refused with HTTP 404 `{code: not_found}` (a
denial response; where the server cannot send one, a 1008 close)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from app.api.chat_socket import ChatSocket
from app.auth import Principal, verify_token
from app.errors import WS_CLOSE_POLICY_VIOLATION, AppError, NotFound
from app.metrics import OPEN_SOCKETS
from app.services.projects import get_project
from app.settings import Settings

router = APIRouter(tags=["chat"])

BEARER_SUBPROTOCOL = "bearer"


def _authenticate(websocket: WebSocket, settings: Settings) -> Principal | None:
    protocols = websocket.scope.get("subprotocols") or []
    if len(protocols) != 2 or protocols[0].lower() != BEARER_SUBPROTOCOL:
        return None
    try:
        return verify_token(settings, protocols[1])
    except AppError:
        return None


@router.websocket("/ws/chat/{project_id}")
async def chat_socket(websocket: WebSocket, project_id: str) -> None:
    """Chat with Claude Code about a project (frames: see app/protocol.py)."""
    state = websocket.app.state
    principal = _authenticate(websocket, state.settings)
    if principal is None:
        await websocket.close(code=WS_CLOSE_POLICY_VIOLATION, reason="unauthorized")
        return
    try:
        project = await get_project(tenant_id=principal.tenant_id, project_id=project_id)
    except NotFound as error:
        await _refuse_not_found(websocket, error)
        return
    await websocket.accept(subprotocol=BEARER_SUBPROTOCOL)
    OPEN_SOCKETS.inc()
    try:
        await ChatSocket(
            websocket, turns=state.turns, relay=state.relay, principal=principal,
            project=project,
        ).run()
    finally:
        OPEN_SOCKETS.dec()


async def _refuse_not_found(websocket: WebSocket, error: NotFound) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body: dict[str, object] = {"code": error.code.value, "message": error.message,
                                   "details": {}}
        await websocket.send_denial_response(JSONResponse(body, status_code=404))
    else:
        await websocket.close(code=WS_CLOSE_POLICY_VIOLATION, reason="not_found")
