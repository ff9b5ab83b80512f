"""The billing of a turn's ending (README "Billing"): its own figures from Claude Code's
running totals and the Claude session's baseline, priced, the baseline moved on; the terminal
frame carries the same figures, so the UI, the job and TokenUsageLog agree."""

from __future__ import annotations

import logging
from typing import Any

from app.models import Job
from app.models.billing import StoredModelTotals
from app.pricing import TokenCounts
from app.protocol import CancelledFrame, ErrorFrame, ServerFrame, SessionEndFrame, UsageSummary
from app.retry import retrying
from app.services.billing import (
    StoredTotals,
    billed_summary,
    current_price_table,
    session_baseline,
    store_baseline,
)
from app.services.turn_lifecycle import TurnEnding
from workers.billing import ModelTotals, Totals, TurnUsage, turn_usage
from workers.turn_frames import TurnStream

__all__ = ["bill_ending", "with_usage"]

log = logging.getLogger("wx.worker.billing")


async def bill_ending(ending: TurnEnding, *, job: Job, stream: TurnStream,
                      window_s: float) -> TurnEnding:
    """`ending` with the turn's billed usage, in its terminal frame too. Never raises: when
    MongoDB stays away past `window_s`, the turn is billed from its stream (logged)."""
    try:
        usage = await _bill(job, stream, window_s)
    except Exception:
        log.exception("job %s: billing from Claude Code's totals failed; billed from the stream "
                      "(the session's next turn may count this one's tokens again)", job.id)
        usage = _summary(turn_usage(None, result=None, seen=_seen(stream)), stream)
    frames = list(ending.frames)
    if frames:
        frames[-1] = with_usage(frames[-1], usage)
    return ending.model_copy(update={"usage": usage, "frames": frames})


async def _bill(job: Job, stream: TurnStream, window_s: float) -> UsageSummary:
    result = stream.tracker.result
    claude_session_id = (result.session_id if result else None) or stream.claude_session_id
    if result is None or not claude_session_id:
        return _summary(turn_usage(None, result=result, seen=_seen(stream)), stream)
    before = await retrying(window_s, lambda: session_baseline(
        tenant_id=job.tenant_id, claude_session_id=claude_session_id, job_id=job.id))
    turn = turn_usage(_totals(before), result=result, seen=_seen(stream))
    if turn.baseline is not None:
        after = _stored(turn.baseline)
        await retrying(window_s, lambda: store_baseline(
            tenant_id=job.tenant_id, claude_session_id=claude_session_id,
            chat_session_id=job.session_id, job_id=job.id, before=before, after=after))
    return _summary(turn, stream)


def _seen(stream: TurnStream) -> dict[str, list[TokenCounts]]:
    return stream.tracker.requests(fallback_model=stream.model or "unknown")


def _summary(turn: TurnUsage, stream: TurnStream) -> UsageSummary:
    result = stream.tracker.result
    return billed_summary(
        by_model={m: t.tokens for m, t in turn.by_model.items()},
        claude_cost=None if turn.claude_cost_usd is None else {
            m: t.cost_usd for m, t in turn.by_model.items()},
        basis=turn.basis, partial=result is None, table=current_price_table(),
        requests=_seen(stream),
        inference_geo=str((result.usage if result else {}).get("inference_geo") or ""))


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
