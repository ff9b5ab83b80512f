"""The REST fallback of the chat socket: submit a turn, follow it by SSE."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import PrincipalDep, TurnsDep
from app.api.routes._responses import errors
from app.api.schemas import ChatAccepted, ChatCreate
from app.services.turns import submit_turn

router = APIRouter(prefix="/api/projects", tags=["chat"])


@router.post("/{project_id}/chat", status_code=202, response_model=ChatAccepted,
             responses=errors(404, 409, 422, 429))
async def post_chat(
    project_id: str, body: ChatCreate, request: Request, principal: PrincipalDep,
    turns: TurnsDep,
) -> ChatAccepted:
    """Queue one chat turn; follow it at `events_url` (SSE) or `status_url`."""
    turn = await submit_turn(
        turns, tenant_id=principal.tenant_id, subject=principal.sub,
        project_id=project_id, content=body.content, context=body.context,
        session_id=body.session_id,
    )
    job_id = str(turn.job.id)
    return ChatAccepted(
        job_id=job_id,
        session_id=str(turn.session.id),
        status_url=str(request.url_for("get_job", job_id=job_id).path),
        events_url=str(request.url_for("job_events", job_id=job_id).path),
    )
