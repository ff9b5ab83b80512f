"""A turn's workspace history (DESIGN §12): before the turn, whatever changed outside a
turn (a lost turn's leftovers; uploads and reverts commit themselves) is committed on its
own; after it, the turn is committed (author: the runner; message: the job id and the
prompt's first line) and a `files_changed` frame goes just before the terminal frame. A
failure here is logged and never fails the turn.

The commit before the turn runs only when a mark says it may find something (a turn of
the project began and did not commit, and is not running any more: what a turn running
beside this one writes is its own, and goes into its commit), so most turns start without
a git run."""

from __future__ import annotations

import logging
from collections.abc import Collection

from app.keys import workspace_uncommitted_key
from app.models import Job
from app.protocol import ServerFrame
from app.vocab import TERMINAL_STATES
from tasks.runtime import Clients
from workers.workspace import Workspace, commit_turn, files_changed_frame, snapshot

__all__ = ["commit_before_turn", "with_files_changed"]

log = logging.getLogger("wx.worker.workspace")


def _workspace(clients: Clients, job: Job) -> Workspace:
    return Workspace(clients.executor, job.tenant_id, str(job.project_id))


async def commit_before_turn(clients: Clients, job: Job) -> None:
    """Commit what changed since the last commit, so the turn's own commit holds only it;
    then mark the project uncommitted until this turn's commit."""
    mark = workspace_uncommitted_key(job.tenant_id, str(job.project_id))
    try:
        previous = await clients.redis.getset(mark, str(job.id))
        if previous is not None and not await _runs_beside(
                job, previous, running_here=clients.cancels.running):
            await snapshot(_workspace(clients, job),
                           f"before {job.id}: changes made outside a turn")
    except Exception as exc:
        log.warning("job %s: no workspace commit before the turn: %s", job.id, exc)


async def _runs_beside(job: Job, marked: bytes | str, *,
                       running_here: Collection[str] = ()) -> bool:
    """The turn that left the mark is another one, still running (not a lost one)."""
    marked_id = marked.decode() if isinstance(marked, bytes) else marked
    if marked_id == str(job.id):
        return False  # this turn again (redelivered): its first attempt's leftovers
    if marked_id in running_here:
        return True  # running in this process (turns of a project starting together)
    other = await Job.get(marked_id)
    return other is not None and other.state not in TERMINAL_STATES


async def with_files_changed(clients: Clients, job: Job,
                             frames: list[ServerFrame]) -> list[ServerFrame]:
    """Commit the turn; `frames` with its files_changed frame before the terminal one."""
    try:
        commit, files = await commit_turn(_workspace(clients, job), str(job.id), job.prompt)
    except Exception as exc:
        log.warning("job %s: the turn's changes were not committed: %s", job.id, exc)
        return frames
    mark = workspace_uncommitted_key(job.tenant_id, str(job.project_id))
    try:
        await clients.redis.delete(mark)
    except Exception as exc:  # the next turn commits before it starts: harmless
        log.warning("job %s: workspace mark not cleared: %s", job.id, exc)
    frame = files_changed_frame(str(job.id), commit, files,
                                max_files=clients.settings.workspace_frame_max_files)
    return [*frames[:-1], frame, *frames[-1:]]
