"""Queue positions while turns wait (DESIGN §4 `job_queued`): when a turn of a session ends,
every turn still waiting in it gets a new `job_queued` frame with its position now."""

from __future__ import annotations

from beanie import PydanticObjectId

from app.events import EventPublisher
from app.models import Job
from app.protocol import JobQueuedFrame
from app.vocab import ACTIVE_STATES, JobState

__all__ = ["publish_positions"]


async def publish_positions(publisher: EventPublisher, session_id: PydanticObjectId) -> int:
    """A `job_queued` frame for each queued turn of the session (position: the unfinished
    turns ahead of it); how many were sent."""
    active = await Job.find({"session_id": session_id, "state": {"$in": list(ACTIVE_STATES)}}
                            ).sort("+created_at", "+_id").to_list()
    sent = 0
    for position, job in enumerate(active):
        if job.state == JobState.QUEUED:
            await publisher.publish(str(job.id), [JobQueuedFrame(
                job_id=str(job.id), session_id=str(session_id), position=position)])
            sent += 1
    return sent
