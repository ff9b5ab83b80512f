"""Fixtures of the security suite: the integration tests' real stack (workers, API, tokens),
shared by import so each security module probes the same kind of stack a user runs."""

from tests.integration.conftest import *  # noqa: F403
from tests.integration.conftest import _test_tenants  # noqa: F401
