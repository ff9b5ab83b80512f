"""One chat WebSocket after its handshake: client frames in, job frames out (DESIGN §4).

Frames of every job the socket follows are relayed concurrently (a second message
while a turn runs is queued behind it, and its frames come too); one lock serialises
writes. A refused client frame gets an `error` frame (seq 0) and the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from app.api.errors import unexpected_error
from app.auth import Principal
from app.errors import AppError, BadRequest, ErrorCode, NotFound
from app.events import frame_header
from app.logging import log_context
from app.metrics import RELAY_LAG, TURNS_SUBMITTED
from app.models import Project
from app.protocol import (
    CancelFrame,
    ErrorFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    ResumeFrame,
    ServerFrame,
    client_frame_adapter,
)
from app.relay import Relay
from app.services import jobs
from app.services.turn_lifecycle import TurnDeps
from app.services.turns import submit_turn
from app.vocab import JobState, queue_for

__all__ = ["ChatSocket"]

log = logging.getLogger(__name__)


class ChatSocket:
    """The state of one accepted chat socket: its session, its jobs, its followers."""

    def __init__(
        self, websocket: WebSocket, *, turns: TurnDeps, relay: Relay, principal: Principal,
        project: Project,
    ) -> None:
        self._ws = websocket
        self._turns = turns
        self._settings = turns.settings
        self._redis = turns.redis
        self._relay = relay
        self._principal = principal
        self._project = project
        self._session_id: str | None = None
        self._job_ids: list[str] = []
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        """Serve client frames until the client goes away."""
        try:
            while True:
                message = await self._ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("text")
                raw = data.encode() if data is not None else message.get("bytes") or b""
                await self._handle_raw(raw)
        except WebSocketDisconnect:
            return
        finally:
            for task in self._followers.values():
                task.cancel()
            for task in list(self._followers.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _handle_raw(self, raw: bytes) -> None:
        try:
            if len(raw) > self._settings.ws_max_frame_bytes:
                raise BadRequest(f"Frame larger than {self._settings.ws_max_frame_bytes} bytes")
            try:
                frame = client_frame_adapter.validate_json(raw)
            except ValidationError as exc:
                errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:5]]
                raise BadRequest("Malformed frame", errors=errors) from exc
            await self._handle(frame)
        except AppError as error:
            await self._send_error(error)
        except Exception as exc:
            await self._send_error(unexpected_error(exc))

    async def _handle(self, frame: MessageFrame | CancelFrame | ResumeFrame | PingFrame) -> None:
        match frame:
            case MessageFrame():
                await self._on_message(frame)
            case CancelFrame():
                await self._on_cancel(frame)
            case ResumeFrame():
                await self._on_resume(frame)
            case PingFrame():
                await self._send_frame(PongFrame())

    async def _on_message(self, frame: MessageFrame) -> None:
        tenant = self._principal.tenant_id
        with log_context(tenant_id=tenant):
            try:
                turn = await submit_turn(
                    self._turns, tenant_id=tenant,
                    subject=self._principal.sub, project_id=str(self._project.id),
                    project=self._project,
                    content=frame.content, context=frame.context,
                    session_id=frame.session_id or self._session_id,
                )
            except AppError as error:
                TURNS_SUBMITTED.labels(queue_for(frame.context), error.code.value).inc()
                raise
        TURNS_SUBMITTED.labels(turn.job.queue, JobState.QUEUED).inc()
        self._session_id = str(turn.session.id)
        self._follow(str(turn.job.id), after_seq=0)

    async def _on_cancel(self, frame: CancelFrame) -> None:
        tenant = self._principal.tenant_id
        job_id = frame.job_id
        if job_id is None:
            job = await jobs.latest_active_job(tenant_id=tenant, job_ids=self._job_ids)
            if job is None:
                raise BadRequest("No turn of this socket is running")
            job_id = str(job.id)
        await jobs.cancel_job(self._turns, tenant_id=tenant, job_id=job_id)

    async def _on_resume(self, frame: ResumeFrame) -> None:
        job = await jobs.get_job(tenant_id=self._principal.tenant_id, job_id=frame.job_id)
        if await jobs.events_expired(self._redis, job):
            raise NotFound("Events of this job (expired)")
        self._follow(frame.job_id, after_seq=frame.after_seq)

    def _follow(self, job_id: str, *, after_seq: int) -> None:
        previous = self._followers.pop(job_id, None)
        if previous is not None:
            previous.cancel()  # an explicit resume replaces the current follower
        if job_id not in self._job_ids:
            self._job_ids.append(job_id)
        self._followers[job_id] = asyncio.create_task(
            self._relay_job(job_id, after_seq), name=f"follow-{job_id}"
        )

    async def _relay_job(self, job_id: str, after_seq: int) -> None:
        me = asyncio.current_task()
        try:
            async for raw in self._relay.follow(job_id, after_seq=after_seq):
                _observe_lag(raw)
                async with self._send_lock:
                    await self._ws.send_text(raw.decode())
        except (WebSocketDisconnect, RuntimeError):
            return  # the client went away
        except Exception:
            log.exception("relaying job %s failed", job_id)
            await self._send_frame(ErrorFrame(
                job_id=job_id, code=ErrorCode.UNAVAILABLE,
                message="Lost the job's event stream; resume to continue.",
                details={"job_id": job_id}))
        finally:
            if self._followers.get(job_id) is me:
                del self._followers[job_id]

    async def _send_error(self, error: AppError) -> None:
        message = "Internal error" if error.code == ErrorCode.INTERNAL else error.message
        await self._send_frame(ErrorFrame(code=error.code, message=message, details=error.details))

    async def _send_frame(self, frame: ServerFrame) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self._ws.send_text(frame.model_dump_json())


def _observe_lag(raw: bytes) -> None:
    try:
        ts = datetime.fromisoformat(frame_header(raw).ts)
        RELAY_LAG.observe(max(0.0, time.time() - ts.timestamp()))
    except (KeyError, ValueError, TypeError):
        pass
