"""The end of a turn's billing (README "Billing"): its own figures from Claude Code's running
totals and the session's baseline, priced, the baseline moved on; the terminal frame is given
the same figures, so the UI, the job and TokenUsageLog agree."""

from __future__ import annotations

from typing import Any

from app.models import ChatSession, Job
from app.models.billing import StoredModelTotals
from app.pricing import TokenCounts
from app.protocol import (
    CancelledFrame,
    ErrorFrame,
    ServerFrame,
    SessionEndFrame,
    UsageSummary,
)
from app.services.billing import (
    StoredTotals,
    billed_summary,
    current_price_table,
    session_baseline,
    store_baseline,
)
from workers.billing import ModelTotals, Totals, turn_usage
from workers.turn_frames import TurnStream

__all__ = ["bill_turn"]


async def bill_turn(*, job: Job, session: ChatSession | None, stream: TurnStream,
                    terminal: ServerFrame) -> tuple[UsageSummary, ServerFrame]:
    """The turn's billed usage, and `terminal` carrying it."""
    tracker = stream.tracker
    result = tracker.result
    seen = tracker.requests(fallback_model=stream.model or "unknown")
    claude_session_id = (result.session_id if result else None) or stream.claude_session_id or (
        session.claude_session_id if session else None)
    before: StoredTotals | None = None
    if result is not None and claude_session_id:
        before = await session_baseline(tenant_id=job.tenant_id,
                                        claude_session_id=claude_session_id, job_id=job.id)
    turn = turn_usage(_totals(before), result=result, seen=seen)
    if result is not None and claude_session_id and turn.baseline is not None:
        await store_baseline(tenant_id=job.tenant_id, claude_session_id=claude_session_id,
                             chat_session_id=job.session_id, job_id=job.id, before=before,
                             after=_stored(turn.baseline))
    usage = billed_summary(
        by_model={m: t.tokens for m, t in turn.by_model.items()},
        claude_cost=None if turn.claude_cost_usd is None else {
            m: t.cost_usd for m, t in turn.by_model.items()},
        basis=turn.basis, partial=result is None, table=current_price_table(), requests=seen,
        inference_geo=str((result.usage if result else {}).get("inference_geo") or ""))
    return usage, with_usage(terminal, usage)


def with_usage(frame: ServerFrame, usage: UsageSummary) -> ServerFrame:
    """A terminal frame with the billed usage in place of Claude Code's running totals."""
    update: dict[str, Any] = {}
    if isinstance(frame, SessionEndFrame):
        update = {"usage_summary": usage, "total_cost_usd": usage.total_cost_usd}
    elif isinstance(frame, CancelledFrame) or (isinstance(frame, ErrorFrame)
                                               and frame.usage is not None):
        update = {"usage": usage}
    return frame.model_copy(update=update) if update else frame


def _totals(stored: StoredTotals | None) -> Totals | None:
    if stored is None:
        return None
    return {m: ModelTotals(TokenCounts(**t.model_dump(exclude={"cost_usd"})), t.cost_usd)
            for m, t in stored.items()}


def _stored(totals: Totals) -> StoredTotals:
    return {m: StoredModelTotals(**vars(t.tokens), cost_usd=t.cost_usd)
            for m, t in totals.items()}
