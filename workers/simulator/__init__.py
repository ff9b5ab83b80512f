"""A fake Anthropic Messages API that the real Claude Code binary talks to in dev and tests."""

from workers.simulator.scenarios import SCENARIOS, Plan, plan_for
from workers.simulator.server import create_app

__all__ = ["SCENARIOS", "Plan", "create_app", "plan_for"]
