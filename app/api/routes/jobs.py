"""Jobs: state, events (SSE), cancel."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import RedisDep, RelayDep, SettingsDep, TenantDep, TurnsDep, WorkspacesDep
from app.api.routes._responses import errors
from app.api.schemas import JobPublic
from app.errors import BadRequest
from app.events import frame_header
from app.protocol import SEQ_MAX
from app.services import jobs
from app.workspace import RevertResult, TurnChanges

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=errors(404))

_SEQ_TEXT = re.compile(r"[0-9]{1,16}")


@router.get("/{job_id}", response_model=JobPublic, name="get_job")
async def get_job(job_id: str, tenant: TenantDep) -> JobPublic:
    """A job's state, usage and error."""
    return JobPublic.of(await jobs.get_job(tenant_id=tenant, job_id=job_id))


@router.get(
    "/{job_id}/events",
    name="job_events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Server-Sent Events: `id` = seq, `event` = type, "
                                    "`data` = the frame (JSON); ends after the terminal frame"}},
)
async def job_events(
    job_id: str,
    tenant: TenantDep,
    relay: RelayDep,
    redis: RedisDep,
    settings: SettingsDep,
    after_seq: Annotated[int, Query(ge=0, le=SEQ_MAX)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """The job's frames from `after_seq` (or `Last-Event-ID`) on, then live."""
    job = await jobs.get_job(tenant_id=tenant, job_id=job_id)
    expired = await jobs.events_expired(redis, job)
    if last_event_id:
        after_seq = max(after_seq, _last_event_seq(last_event_id))

    async def events() -> AsyncIterator[ServerSentEvent]:
        if expired:
            return  # the job ended long ago; its state is at status_url
        async for raw in relay.follow(job_id, after_seq=after_seq):
            header = frame_header(raw)
            yield ServerSentEvent(data=raw.decode(), id=str(header.seq), event=header.type)

    return EventSourceResponse(events(), ping=int(settings.ws_ping_interval_s))


def _last_event_seq(value: str) -> int:
    """The seq a `Last-Event-ID` names, or BadRequest (it is an `id:` this API sent)."""
    text = value.strip()
    if not _SEQ_TEXT.fullmatch(text) or int(text) > SEQ_MAX:
        raise BadRequest(f"Last-Event-ID must be a seq from 0 to {SEQ_MAX}",
                         field="Last-Event-ID")
    return int(text)


@router.delete("/{job_id}", response_model=JobPublic)
async def cancel_job(job_id: str, tenant: TenantDep, turns: TurnsDep) -> JobPublic:
    """Cancel a job (queued: at once; running: its worker stops claude within 2 s)."""
    job = await jobs.cancel_job(turns, tenant_id=tenant, job_id=job_id)
    return JobPublic.of(job)


@router.get("/{job_id}/changes", response_model=TurnChanges, responses=errors(404, 409, 503))
async def job_changes(job_id: str, tenant: TenantDep, workspaces: WorkspacesDep) -> TurnChanges:
    """What the turn changed in the workspace: files added, modified, deleted, with diffs."""
    return await workspaces.changes(tenant_id=tenant, job_id=job_id)


@router.post("/{job_id}/revert", response_model=RevertResult, responses=errors(404, 409, 503))
async def revert_job(job_id: str, tenant: TenantDep, workspaces: WorkspacesDep) -> RevertResult:
    """Restore the workspace to what it was before the turn (a new commit: undoable)."""
    return await workspaces.revert(tenant_id=tenant, job_id=job_id)
