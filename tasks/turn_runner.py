"""One chat turn on the worker (DESIGN §3): claim, run claude through the executor,
relay frames, honour cancel / idle / time limits, end exactly once, start the next turn."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from beanie import PydanticObjectId

from app.errors import ErrorCode
from app.logging import log_context
from app.metrics import record_turn_end
from app.models import ChatMessage, ChatSession, Job
from app.protocol import (
    AssistantChunkFrame,
    CancelledFrame,
    ErrorFrame,
    ServerFrame,
    SessionEndFrame,
    utc_now,
)
from app.services.dispatch import dispatch_next
from app.services.job_lifecycle import claim_job, finish_job, heartbeat, record_usage
from tasks.billing import bill_turn
from tasks.lost import await_or_declare_lost
from tasks.orphans import forget_pid, remember_pid
from tasks.runtime import Runtime
from workers.cli_command import ClaudeCommandOptions, build_cli_command, build_cli_env
from workers.executor.base import Execution, ExitStatus, RunSpec
from workers.turn_frames import TurnStream

__all__ = ["cancel_key", "run_turn"]

log = logging.getLogger("wx.worker.turn")


def cancel_key(job_id: str) -> str:
    return f"wx:job:{job_id}:cancel"


async def run_turn(rt: Runtime, job_id: str) -> None:
    """Run one turn; a job that is no longer `queued` never runs Claude again."""
    with log_context(job_id=job_id):
        job = await claim_job(job_id, rt.worker_name)
        if job is None:
            await _unclaimable(rt, job_id)
            return
        with log_context(tenant_id=job.tenant_id):
            await _TurnRun(rt, job).run()


async def _unclaimable(rt: Runtime, job_id: str) -> None:
    job = await Job.get(PydanticObjectId(job_id))
    if job is None:
        return
    log.info("job %s is %s: not running it again", job_id, job.state)
    if job.state == "running":
        await await_or_declare_lost(rt, job)
    await dispatch_next(job.session_id, redis=rt.redis, celery=rt.celery, settings=rt.settings)


class _TurnRun:
    """The state of one claimed turn while its claude process runs."""

    def __init__(self, rt: Runtime, job: Job) -> None:
        self.rt = rt
        self.job = job
        self.job_id = str(job.id)
        self.cancelled = False
        self.timed_out = False
        self.lost = False
        self._interrupting: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._first_chunk_s: float | None = None
        self._last_output = time.monotonic()
        self._next_heartbeat = time.monotonic() + rt.settings.heartbeat_interval_s

    async def run(self) -> None:
        session = await ChatSession.get(self.job.session_id)
        stream = self._turn_stream()
        try:
            execution = await self.rt.executor.start(self._run_spec(session))
        except Exception as exc:  # container won't start, image missing, no binary...
            log.warning("job %s: executor failed: %s", self.job_id, exc)
            frame = ErrorFrame(job_id=self.job_id, code=ErrorCode.EXECUTOR_FAILED,
                               message=f"Claude Code could not be started: {exc}")
            await self._end([frame], stream, session)
            return
        remember_pid(self.rt.settings, self.job_id, execution)
        try:
            status = await self._pump(execution, stream)
        finally:
            forget_pid(self.rt.settings, self.job_id)
        frames = stream.finish(exit_code=status.exit_code, stderr=status.stderr,
                               cancelled=self.cancelled, timed_out=self.timed_out)
        await self._end(frames, stream, session)

    def _turn_stream(self) -> TurnStream:
        executor, tenant = self.rt.executor, self.job.tenant_id
        sanitizer = self.rt.guardrail.output_sanitizer(
            path_prefixes=[executor.workdir(tenant, str(self.job.project_id))],
            config_dirs=[executor.config_dir(tenant)],
        )
        return TurnStream(job_id=self.job_id, sanitizer=sanitizer,
                          tool_result_max_chars=self.rt.settings.tool_result_max_chars)

    def _run_spec(self, session: ChatSession | None) -> RunSpec:
        opts = ClaudeCommandOptions(
            prompt=self.job.prompt,
            context=self.job.context,
            resume_session_id=session.claude_session_id if session else None,
            max_budget_usd=self.job.max_budget_usd,
            claude_bin=self.rt.executor.claude_bin,
        )
        return RunSpec(tenant_id=self.job.tenant_id, project_id=str(self.job.project_id),
                       argv=build_cli_command(opts), env=build_cli_env(self.rt.settings),
                       job_id=self.job_id)

    async def _pump(self, execution: Execution, stream: TurnStream) -> ExitStatus:
        reader = asyncio.create_task(self._read(execution, stream))
        poll = self.rt.settings.cancel_poll_interval_s
        try:
            while not reader.done():
                await asyncio.wait({reader}, timeout=poll)
                await self._control(execution, stream)
            await reader
        except BaseException:
            reader.cancel()
            await execution.interrupt()
            raise
        if self._interrupting is not None:
            await self._interrupting
        return await execution.wait()

    async def _read(self, execution: Execution, stream: TurnStream) -> None:
        async for line in execution.lines():
            self._last_output = time.monotonic()
            frames = stream.feed_line(line)
            if self._first_chunk_s is None and any(
                    isinstance(f, AssistantChunkFrame) for f in frames):
                self._first_chunk_s = time.monotonic() - self._started
            if frames:  # all frames of one line in one atomic publish
                await self.rt.publisher.publish(self.job_id, frames)

    async def _control(self, execution: Execution, stream: TurnStream) -> None:
        """Every ~100 ms: cancel flag, idle watchdog, time limit, heartbeat."""
        now = time.monotonic()
        if self._interrupting is None:
            if await self.rt.redis.exists(cancel_key(self.job_id)):
                self.cancelled = True
            elif now - self._last_output > self.rt.settings.turn_idle_timeout_s:
                log.warning("job %s: no output for %ss", self.job_id,
                            self.rt.settings.turn_idle_timeout_s)
                self.timed_out = True
            elif self.job_id in self.rt.soft_timed_out:
                self.timed_out = True
            if self.cancelled or self.timed_out:
                self._interrupting = asyncio.create_task(execution.interrupt())
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.rt.settings.heartbeat_interval_s
            if not await heartbeat(self.job_id, stream.usage_summary) and not self.lost:
                # Someone ended the job (the reaper thought this worker lost): stop.
                self.lost = True
                if self._interrupting is None:
                    self._interrupting = asyncio.create_task(execution.interrupt())

    async def _end(
        self, frames: list[ServerFrame], stream: TurnStream, session: ChatSession | None
    ) -> None:
        """Persist, end the job atomically, then publish the one terminal frame."""
        *head, terminal = frames
        if head:
            await self.rt.publisher.publish(self.job_id, head)
        usage, terminal = await bill_turn(job=self.job, session=session, stream=stream,
                                          terminal=terminal)
        await record_usage(self.job, usage, stream.model)
        await self._save_history(stream, session)
        state, code, message = _outcome(terminal)
        ended = await finish_job(self.job_id, state=state, usage=usage,
                                 error_code=code, error_message=message)
        if ended is not None:
            await self.rt.publisher.publish(self.job_id, [terminal])
            await record_turn_end(self.rt.redis, self.job, state, usage,
                                  duration_s=time.monotonic() - self._started,
                                  first_chunk_s=self._first_chunk_s)
        await self.rt.redis.delete(cancel_key(self.job_id))
        self.rt.soft_timed_out.discard(self.job_id)
        await dispatch_next(self.job.session_id, redis=self.rt.redis, celery=self.rt.celery,
                            settings=self.rt.settings)

    async def _save_history(self, stream: TurnStream, session: ChatSession | None) -> None:
        if stream.assistant_text:
            await ChatMessage(tenant_id=self.job.tenant_id, session_id=self.job.session_id,
                              role="assistant", content=stream.assistant_text,
                              job_id=self.job.id).insert()
        if session is not None:
            update: dict[str, Any] = {"last_active_at": utc_now()}
            if stream.claude_session_id:
                update["claude_session_id"] = stream.claude_session_id
            await session.update({"$set": update})


def _outcome(frame: ServerFrame) -> tuple[Any, str | None, str | None]:
    """(job state, error code, error message) a terminal frame stands for."""
    if isinstance(frame, CancelledFrame):
        return "cancelled", None, None
    if isinstance(frame, ErrorFrame):
        return "failed", str(frame.code), frame.message
    if isinstance(frame, SessionEndFrame) and frame.is_error:
        return "failed", str(ErrorCode.CLAUDE_ERROR), frame.result[:500]
    return "succeeded", None, None
