"""The Celery task sender's answer per turn when the broker is away: every turn of the
batch is reported not sent (the sweep sends them again), within the publish retry policy."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings
from app.taskqueue import CelerySender, make_celery
from tests.helpers import free_port


async def test_a_broker_that_is_away_leaves_every_turn_of_the_batch_unsent(
        tmp_path: Path) -> None:
    settings = Settings(env="test", redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        data_dir=str(tmp_path))
    sender = CelerySender(make_celery(settings))
    try:
        outcomes = await sender.send_turns([("a", "chat"), ("b", "chat"), ("c", "chat")])
    finally:
        sender.close()
    assert len(outcomes) == 3
    assert all(isinstance(o, Exception) for o in outcomes)
