"""Queue positions while turns wait (DESIGN §4 `job_queued`): when a turn of a session ends,
every turn still waiting in it gets a new `job_queued` frame with its position now (sent by
dispatch_next, from the read that picks the next turn)."""

from __future__ import annotations

from beanie import PydanticObjectId

from app.events import EventPublisher, JobFrames
from app.models import Job
from app.protocol import JobQueuedFrame
from app.vocab import JobState

__all__ = ["publish_positions"]


async def publish_positions(publisher: EventPublisher, session_id: PydanticObjectId,
                            active: list[Job]) -> int:
    """A `job_queued` frame for each queued turn among the session's `active` turns (oldest
    first; position: the unfinished turns ahead of it), in one publish; how many were sent."""
    frames = [JobFrames(str(job.id), [JobQueuedFrame(
        job_id=str(job.id), session_id=str(session_id), position=position)])
        for position, job in enumerate(active) if job.state == JobState.QUEUED]
    if frames:
        await publisher.publish_many(frames)
    return len(frames)
