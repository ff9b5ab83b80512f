"""The commit before a turn (tasks/turn_workspace.py): it runs after a turn of the project
that began and did not commit (lost), never because another turn is running beside this one
(its writes go into its own commit), on real MongoDB documents."""

from __future__ import annotations

import pytest

from app.models import Job
from app.vocab import Context, JobState, queue_for
from tasks.turn_workspace import _runs_beside
from tests.integration.turn_helpers import new_session

pytestmark = pytest.mark.usefixtures("clean_db", "db")


async def _job(tenant: str, state: JobState) -> Job:
    session = await new_session(tenant)
    return await Job(tenant_id=tenant, project_id=session.project_id, session_id=session.id,
                     context=Context.ANALYSIS, queue=queue_for(Context.ANALYSIS),
                     prompt="p", state=state).insert()


@pytest.mark.parametrize(("state", "beside"), [
    (JobState.RUNNING, True), (JobState.QUEUED, True),
    (JobState.FAILED, False), (JobState.SUCCEEDED, False), (JobState.CANCELLED, False),
])
async def test_a_marked_turn_runs_beside_only_while_it_is_not_over(
    tenant_id: str, state: JobState, beside: bool
) -> None:
    this, marked = await _job(tenant_id, JobState.RUNNING), await _job(tenant_id, state)
    assert await _runs_beside(this, str(marked.id).encode()) is beside


async def test_its_own_mark_or_a_gone_job_means_leftovers(tenant_id: str) -> None:
    this = await _job(tenant_id, JobState.RUNNING)
    assert await _runs_beside(this, str(this.id)) is False  # redelivered: its first attempt's
    assert await _runs_beside(this, "6b0000000000000000000000") is False


async def test_a_mark_of_a_turn_running_in_this_process_needs_no_read(tenant_id: str) -> None:
    this = await _job(tenant_id, JobState.RUNNING)
    running_here = {"6b0000000000000000000001"}  # no such document: answered from the set
    assert await _runs_beside(this, b"6b0000000000000000000001", running_here=running_here)
