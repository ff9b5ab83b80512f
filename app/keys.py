"""Every Redis key and channel of the runner, named once (the Celery broker's own keys aside)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "AFFINITY_PREFIX",
    "EVENTS_PATTERN",
    "EVENTS_SUFFIX",
    "HOSTS",
    "HOST_PREFIX",
    "HOST_TENANTS_PREFIX",
    "JOB_PREFIX",
    "METRICS_PREFIX",
    "PRODUCERS_SUFFIX",
    "RELAY_ALIVE",
    "SEQ_SUFFIX",
    "TERMINAL_SUFFIX",
    "affinity_key",
    "cancel_key",
    "dispatch_lock",
    "events_key",
    "host_key",
    "host_tenants_key",
    "metrics_key",
    "producers_key",
    "sent_key",
    "seq_key",
    "signin_code_key",
    "submit_lock",
    "terminal_key",
    "workspace_gone_key",
    "workspace_input_key",
    "workspace_reply_key",
    "workspace_requests_key",
    "workspace_uncommitted_key",
]

EVENTS_PATTERN: Final = "wx:job:*:events"
RELAY_ALIVE: Final = "wx:relay:alive"  # the relay's own heartbeat through pub/sub
HOST_PREFIX: Final = "wx:host:"
HOSTS: Final = "wx:hosts"  # names ever registered; alive = its wx:host:<name> has not expired
HOST_TENANTS_PREFIX: Final = "wx:host-tenants:"
AFFINITY_PREFIX: Final = "wx:affinity:"
METRICS_PREFIX: Final = "wx:metrics:"


# A job's keys are `JOB_PREFIX + job_id + suffix` (the publish script builds them the same
# way from these parts: app/events.py).
JOB_PREFIX: Final = "wx:job:"
EVENTS_SUFFIX: Final = ":events"
SEQ_SUFFIX: Final = ":seq"
TERMINAL_SUFFIX: Final = ":terminal"
PRODUCERS_SUFFIX: Final = ":producers"


def events_key(job_id: str) -> str:
    """A job's event Stream, and the pub/sub channel of the same name."""
    return JOB_PREFIX + job_id + EVENTS_SUFFIX


def seq_key(job_id: str) -> str:
    """The last seq given to a frame of the job."""
    return JOB_PREFIX + job_id + SEQ_SUFFIX


def terminal_key(job_id: str) -> str:
    """Set once the job's terminal frame is published: nothing is published after it."""
    return JOB_PREFIX + job_id + TERMINAL_SUFFIX


def producers_key(job_id: str) -> str:
    """Per producer of the job's frames, the index of the last one published."""
    return JOB_PREFIX + job_id + PRODUCERS_SUFFIX


def sent_key(job_id: str) -> str:
    """Set once the job's task was taken by the broker (a chosen job without it after a
    while was never sent: the sweep sends it again)."""
    return f"wx:job:{job_id}:sent"


def cancel_key(job_id: str) -> str:
    """The flag a running turn polls (~100 ms) to stop claude."""
    return f"wx:job:{job_id}:cancel"


def dispatch_lock(session_id: str) -> str:
    return f"wx:session:{session_id}:dispatch"


def submit_lock(tenant_id: str) -> str:
    return f"wx:tenant:{tenant_id}:submit"


def signin_code_key(code: str) -> str:
    """Who a one-time sign-in code signs in (JSON `{tenant_id, sub}`), until its TTL."""
    return f"wx:signin:{code}"


def host_key(host: str) -> str:
    return HOST_PREFIX + host


def host_tenants_key(host: str) -> str:
    return HOST_TENANTS_PREFIX + host


def affinity_key(tenant_id: str) -> str:
    return AFFINITY_PREFIX + tenant_id


def metrics_key(name: str) -> str:
    return METRICS_PREFIX + name


def workspace_uncommitted_key(tenant_id: str, project_id: str) -> str:
    """Set while a turn of the project may have changed files its commit has not taken
    (from its start until its commit; left set by a turn that was lost or failed to commit)."""
    return f"wx:ws:uncommitted:{tenant_id}:{project_id}"


def workspace_requests_key(host: str) -> str:
    """The workspace requests for the workers of `host` (a list they pop)."""
    return f"wx:ws:requests:{host}"


def workspace_reply_key(request_id: str) -> str:
    """What the worker serving a workspace request sends back (a list, in order)."""
    return f"wx:ws:reply:{request_id}"


def workspace_input_key(request_id: str) -> str:
    """The bytes an upload sends to the worker serving it (a list, in order)."""
    return f"wx:ws:input:{request_id}"


def workspace_gone_key(request_id: str) -> str:
    """Set when the API stopped reading a request's reply (the client went away)."""
    return f"wx:ws:gone:{request_id}"
