"""One chat turn on the worker (DESIGN §3): claim, run claude through the executor, relay
frames, honour cancel, the idle watchdog, the time limit and a warm shutdown, then end it
through app/services/turn_lifecycle.py (the one place a turn ends)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from beanie import PydanticObjectId

from app.credentials import TurnCredential
from app.errors import AppError, ErrorCode, ExecutorFailed, NoCredentials
from app.logging import log_context
from app.models import ChatSession, Job
from app.protocol import AssistantChunkFrame, ErrorFrame, ProgressFrame, ServerFrame
from app.retry import retrying
from app.services.credentials import credential_for_turn
from app.services.dispatch import dispatch_next
from app.services.turn_lifecycle import (
    EndKind,
    TurnEnding,
    await_end_or_declare_lost,
    claim,
    end_turn,
    heartbeat,
)
from app.taskqueue import turn_time_limit_s
from app.vocab import JobState
from tasks.billing import bill_ending
from tasks.runtime import Clients, WorkerRuntime
from tasks.turn_workspace import commit_before_turn, with_files_changed
from workers.cli_command import ClaudeCommandOptions, build_cli_command, build_cli_env
from workers.executor.base import Execution, ExitStatus, RunSpec
from workers.turn_frames import StopReason, TurnStream

__all__ = ["run_turn"]

log = logging.getLogger("wx.worker.turn")


async def run_turn(rt: WorkerRuntime, job_id: str) -> None:
    """Run one turn; a job that is no longer `queued` never runs Claude again."""
    clients = rt.clients
    with log_context(job_id=job_id):
        async with clients.starts.slot() as start_over:
            job = await claim(job_id, clients.worker_name,
                              window_s=clients.settings.outage_window_s)
            if job is None:
                start_over()
                await _unclaimable(clients, job_id)
                return
            with log_context(tenant_id=job.tenant_id):
                await _TurnRun(rt, job, start_over).run()


async def _unclaimable(clients: Clients, job_id: str) -> None:
    deps = clients.deps
    job = await retrying(deps.window_s, lambda: Job.get(PydanticObjectId(job_id)))
    if job is None:
        return
    log.info("job %s is %s: not running it again", job_id, job.state)
    if job.state == JobState.RUNNING:
        await await_end_or_declare_lost(deps, job)
    await dispatch_next(job.session_id, redis=deps.redis, sender=deps.sender,
                        settings=deps.settings)


class _TurnRun:
    """The state of one claimed turn while its claude process runs."""

    def __init__(self, rt: WorkerRuntime, job: Job, start_over: Callable[[], None]) -> None:
        self.rt = rt
        self._start_over = start_over  # gives the start slot back: claude runs, or never will
        self.clients = rt.clients
        self.settings = rt.clients.settings
        self.job = job
        self.job_id = str(job.id)
        self.stopped: StopReason | None = None
        self.credential = TurnCredential(kind=None)  # this tenant's, read by _execute
        self.lost = False
        self._interrupting: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._deadline = self._started + turn_time_limit_s(self.settings, job.routed_queue
                                                           or job.queue)
        self._first_chunk_s: float | None = None
        self._last_output = time.monotonic()
        self._next_heartbeat = time.monotonic() + self.settings.heartbeat_interval_s
        self.stream = self._turn_stream()
        self.feed = self.clients.frames.feed(self.job_id, producer="run")

    async def run(self) -> None:
        """Run claude and end the turn; whatever fails, the turn ends with one terminal frame."""
        self.clients.cancels.running.add(self.job_id)
        status: ExitStatus | None = None
        try:
            status, frames = await self._execute()
        except Exception as exc:
            log.exception("job %s failed on the worker", self.job_id)
            frames = self._failure(exc)
        finally:
            self.clients.cancels.forget(self.job_id)
            self._start_over()
        if status is not None:  # claude ran: what it changed is committed, and listed
            frames = await with_files_changed(self.clients, self.job, frames)
        unsent = await self.feed.close()
        try:
            ending = await bill_ending(self._ending([*unsent, *frames], status), job=self.job,
                                       stream=self.stream, window_s=self.settings.outage_window_s)
            await end_turn(self.clients.deps, self.job, ending)
        except Exception:
            log.exception("job %s: its end is kept in the outbox until Redis and MongoDB "
                          "answer", self.job_id)

    async def _execute(self) -> tuple[ExitStatus | None, list[ServerFrame]]:
        window = self.settings.outage_window_s
        # independent lookups, at once: under load each waits its turn at MongoDB
        credential, session, _ = await asyncio.gather(
            retrying(window, lambda: credential_for_turn(
                self.settings, self.clients.cipher, tenant_id=self.job.tenant_id)),
            retrying(window, lambda: ChatSession.get(self.job.session_id)),
            commit_before_turn(self.clients, self.job),
            return_exceptions=True)
        if isinstance(credential, NoCredentials):  # refused before anything runs
            log.warning("job %s: tenant has no Claude credential", self.job_id)
            return None, self._failure(credential)
        if isinstance(credential, BaseException):
            raise credential
        if isinstance(session, BaseException):
            raise session
        self.credential = credential
        resume = session.claude_session_id if session else None
        try:
            status = await self._run_claude(resume)
            if resume and self.stream.resume_not_found and self.stopped is None:
                log.warning("job %s: Claude session %s is not on this host; a new one",
                            self.job_id, resume)
                self.stream = self._turn_stream()
                await self.feed.put([ProgressFrame(
                    job_id=self.job_id, kind="session_restarted",
                    message="The earlier conversation is not on this worker host: this turn "
                            "goes on in a new Claude session, without its history.")])
                status = await self._run_claude(None)
        except ExecutorFailed as exc:
            log.warning("job %s: executor failed: %s", self.job_id, exc)
            return None, self._failure(exc)
        frames = self.stream.finish(exit_code=status.exit_code, stderr=status.stderr,
                                    stopped=self.stopped)
        return status, frames

    async def _run_claude(self, resume: str | None) -> ExitStatus:
        try:
            execution = await self.clients.executor.start(self._run_spec(resume))
        finally:
            self._start_over()
        return await self._pump(execution)

    def _turn_stream(self) -> TurnStream:
        executor, tenant = self.clients.executor, self.job.tenant_id
        try:
            sanitizer = self.clients.guardrail.output_sanitizer(
                path_prefixes=[executor.workdir(tenant, str(self.job.project_id))],
                config_dirs=[executor.config_dir(tenant)],
            )
        except AppError:  # an id no sandbox can have: _run_spec refuses it inside run()
            sanitizer = self.clients.guardrail.output_sanitizer()
        return TurnStream(job_id=self.job_id, sanitizer=sanitizer,
                          tool_result_max_chars=self.settings.tool_result_max_chars)

    def _run_spec(self, resume: str | None) -> RunSpec:
        executor, tenant = self.clients.executor, self.job.tenant_id
        opts = ClaudeCommandOptions(
            prompt=self.job.prompt,
            workdir=executor.workdir(tenant, str(self.job.project_id)),
            config_dir=executor.config_dir(tenant),
            context=self.job.context,
            resume_session_id=resume,
            max_budget_usd=self.job.max_budget_usd,
            claude_bin=executor.claude_bin,
        )
        return RunSpec(tenant_id=tenant, project_id=str(self.job.project_id),
                       argv=build_cli_command(opts),
                       env=build_cli_env(self.settings, credential=self.credential),
                       job_id=self.job_id,
                       shared_credentials_file=self.credential.shared_file)

    async def _pump(self, execution: Execution) -> ExitStatus:
        reader = asyncio.create_task(self._read(execution))
        poll = self.settings.cancel_poll_interval_s
        try:
            while not reader.done():
                await asyncio.wait({reader}, timeout=poll)
                await self._control(execution)
            await reader
        except BaseException:
            reader.cancel()
            await execution.interrupt()
            raise
        if self._interrupting is not None:
            await self._interrupting
        return await execution.wait()

    async def _read(self, execution: Execution) -> None:
        async for line in execution.lines():
            self._last_output = time.monotonic()
            frames = self.stream.feed_line(line)
            if self._first_chunk_s is None and any(
                    isinstance(f, AssistantChunkFrame) for f in frames):
                self._first_chunk_s = time.monotonic() - self._started
            if frames:
                await self.feed.put(frames)

    async def _control(self, execution: Execution) -> None:
        """Every poll: cancel flag, idle watchdog, time limit, shutdown, heartbeat."""
        now = time.monotonic()
        if self._interrupting is None:
            self.stopped = self._stop_reason(now)
            if self.stopped is not None:
                log.warning("job %s: stopping claude (%s)", self.job_id, self.stopped)
                self._interrupting = asyncio.create_task(execution.interrupt())
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.settings.heartbeat_interval_s
            alive = await heartbeat(self.job_id, self.stream.usage_summary)
            if alive is False and not self.lost:
                # Someone ended the job (the reaper thought this worker lost): stop.
                self.lost = True
                if self._interrupting is None:
                    self._interrupting = asyncio.create_task(execution.interrupt())

    def _stop_reason(self, now: float) -> StopReason | None:
        if self.job_id in self.clients.cancels.cancelled:
            return StopReason.CANCEL
        if now - self._last_output > self.settings.turn_idle_timeout_s:
            return StopReason.IDLE
        if now > self._deadline:
            return StopReason.TIME_LIMIT
        shutdown = self.rt.shutdown_deadline
        if shutdown is not None and now > shutdown:
            return StopReason.SHUTDOWN
        return None

    def _failure(self, exc: Exception) -> list[ServerFrame]:
        """The frames of a turn that failed on the worker: held-back text, then the error."""
        frames = self.stream.finish(exit_code=None, stopped=None)[:-1]
        if isinstance(exc, ExecutorFailed):
            code, message = ErrorCode.EXECUTOR_FAILED, f"Claude Code could not be started: {exc}"
        elif isinstance(exc, AppError):
            code, message = exc.code, exc.message
        else:
            code, message = ErrorCode.INTERNAL, "The turn failed on the worker; it was ended."
        usage = self.stream.usage_summary
        return [*frames, ErrorFrame(job_id=self.job_id, code=code, message=message,
                                    usage=usage)]

    def _ending(self, frames: list[ServerFrame], status: ExitStatus | None) -> TurnEnding:
        terminal = frames[-1]
        state, code, message = _outcome(terminal)
        skipped = {**self.stream.skipped_lines,
                   "dropped": status.dropped_lines if status is not None else 0}
        return TurnEnding(
            job_id=self.job_id, kind=EndKind.FINISHED, state=state, frames=frames,
            producer=self.feed.producer, first_index=self.feed.next_index,
            usage=self.stream.usage_summary, model=self.stream.model,
            assistant_text=self.stream.assistant_text,
            claude_session_id=self.stream.claude_session_id,
            error_code=code, error_message=message,
            duration_s=time.monotonic() - self._started, first_chunk_s=self._first_chunk_s,
            skipped_lines=skipped,
        )


def _outcome(frame: ServerFrame) -> tuple[JobState, str | None, str | None]:
    """(job state, error code, error message) a terminal frame stands for."""
    match frame.type:
        case "cancelled":
            return JobState.CANCELLED, None, None
        case "error":
            assert isinstance(frame, ErrorFrame)
            return JobState.FAILED, str(frame.code), frame.message
        case "session_end" if getattr(frame, "is_error", False):
            return JobState.FAILED, str(ErrorCode.CLAUDE_ERROR), str(getattr(frame, "result",
                                                                            ""))[:500]
    return JobState.SUCCEEDED, None, None
