"""The one settings class of the runner: API, workers, CLI and tests all read it."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.service_secrets import load_service_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "wx-dev-secret-change-me-0123456789abcdef"

ExecutorKind = Literal["auto", "local", "docker"]


class Settings(BaseSettings):
    """Every setting, read from `WX_*` environment variables (or `.env`)."""

    model_config = SettingsConfigDict(env_prefix="WX_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = REPO_ROOT / ".wx-data"
    log_level: str = "INFO"
    log_json: bool = False

    # Services. Service auth (issue 12, part auth): the defaults are the dev stack's own
    # Redis (not the machine's one on 6379) and SecantusDB, which require the passwords
    # `wxrunner stack up` generates into <data_dir>/secrets.json; while these two URLs keep
    # their defaults they carry those passwords. A URL set explicitly carries its own.
    redis_url: str = "redis://127.0.0.1:6380/0"
    # The Celery broker, when it is not the Redis of the events (redis_url).
    broker_url: str | None = None
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "wxrunner"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    frontend_port: int = 3000
    cors_origins: list[str] = ["http://127.0.0.1:3000", "http://localhost:3000"]

    # Auth (DESIGN §8)
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: Literal["HS256"] = "HS256"
    dev_token_ttl_s: int = 7 * 24 * 3600

    # Claude Code (DESIGN §5)
    claude_bin: Path = REPO_ROOT / "node_modules" / ".bin" / "claude"
    claude_bin_in_container: str = "/usr/local/bin/claude"
    claude_max_retries: int = 2
    anthropic_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    claude_oauth_token: SecretStr | None = None
    claude_credentials_file: Path | None = None
    tool_result_max_chars: int = 8000
    max_line_bytes: int = 32 * 1024 * 1024

    # Per-tenant Claude credentials (issue 12, credentials part). The Fernet keys that encrypt
    # the credentials tenants link, comma-separated: the first encrypts, every one decrypts.
    # Unset in dev and test: a key made on first use in data_dir/credential.key (mode 600);
    # prod refuses to start without it. Both the API and the workers need it.
    credential_key: SecretStr | None = None
    # Whether a tenant with no credential of its own runs on the operator's shared one
    # (anthropic_api_key, claude_oauth_token, claude_credentials_file). None: on in dev and
    # test, off in prod (a turn without a credential is then refused, `no_credentials`).
    shared_credential_fallback: bool | None = None

    # Executors
    executor: ExecutorKind = "auto"
    docker_host: str | None = None
    tenant_image: str = "wx-tenant:2.1.332-git-egress"
    container_memory: str = "2g"
    container_cpus: float = 1.0
    container_pids: int = 256
    container_idle_s: int = 1800
    # Labels this deployment's tenant containers and volumes: workers of another deployment
    # sharing the Docker engine (a second stack, a test session) never survey or reap them.
    deployment: str = "default"
    # Tenant code runs below the runner's own processes: claude processes of the local
    # executor at this niceness, tenant containers with these CPU shares (Docker's default:
    # 1024), so a busy host still relays every frame on time.
    tenant_nice: int = 10
    container_cpu_shares: int = 512
    cancel_sigint_grace_s: float = 1.0
    cancel_sigterm_grace_s: float = 0.5

    # Network (issue 12, tenant isolation): tenant containers get no network (`none`, or a
    # Docker network with no exit, e.g. compose's internal one); their only way out is the
    # egress proxy (`wxrunner egress`) on a unix socket in egress_dir, bind-mounted into each
    # container, where a forwarder listens on 127.0.0.1:egress_forward_port. It allows the
    # model API (from anthropic_base_url, else api.anthropic.com:443) and egress_allowed_hosts
    # (host:port). `host` shares the host's network (Redis, MongoDB, the API): development only.
    container_network: str = "none"
    egress_dir: Path | None = None  # None: <data_dir>/egress
    # The Docker volume holding egress_dir, when the worker runs in a container itself
    # (compose): tenant containers mount it by name. None: egress_dir is bind-mounted.
    egress_volume: str | None = None
    egress_forward_port: int = Field(default=3128, ge=1, le=65535)
    egress_allowed_hosts: list[str] = Field(default_factory=list)
    egress_connect_timeout_s: float = 10.0

    # Turns
    turn_idle_timeout_s: float = 300.0
    # A turn running longer than its queue's limit (s) is stopped like a cancel (SIGINT, so
    # Claude Code still reports its usage) and ends with `timeout`.
    chat_time_limit_s: int = 1800
    conversions_time_limit_s: int = 7200
    # Turns one worker process runs at once (they wait on Claude, not on the CPU).
    worker_concurrency: int = 128
    # Of those, turns starting at once (claim, reads, claude spawned); the others wait in
    # arrival order. A hundred turns starting together on the loop would all start late.
    worker_start_concurrency: int = 8
    # On a warm shutdown (SIGTERM), running turns get this long (s) to finish; the rest
    # are stopped (SIGINT, usage kept) and end with `worker_shutdown`.
    worker_shutdown_grace_s: float = 30.0
    # A Redis or MongoDB outage shorter than this (s) loses no turn: the worker retries,
    # keeps frames in order, and writes the end of a turn when they are back.
    outage_window_s: float = 60.0
    # A turn chosen to run but not sent to the broker after this long (s) is sent again.
    send_grace_s: float = 15.0
    # Worker liveness: a running job whose heartbeat is older than heartbeat_stale_s is
    # ended `worker_lost` by a redelivered task or by the periodic reaper.
    heartbeat_interval_s: float = 5.0
    heartbeat_stale_s: float = 30.0
    reaper_interval_s: float = 10.0
    # Worker hosts (DESIGN §11): the name this worker's host registers under (its
    # queues are `chat.<host>`/`conversions.<host>`; empty = the machine's hostname),
    # and how often (s) it refreshes `wx:host:<host>` (which expires after 3 periods).
    worker_host: str = Field(default_factory=socket.gethostname)
    host_heartbeat_s: float = 10.0
    cancel_poll_interval_s: float = 0.1

    # Workspaces (DESIGN §12). The API reaches a tenant's files through the workspace service
    # of the workers on the tenant's host (over Redis): how long (s) it waits for an answer
    # (or the next chunk of one), and how many requests a worker process serves at once.
    workspace_timeout_s: float = 30.0
    workspace_concurrency: int = 8
    # Limits: entries of a listing, bytes of a file shown, bytes of a turn's diffs (all
    # files, then each file), changed files a files_changed frame lists.
    workspace_list_max_entries: int = 10_000
    workspace_view_max_bytes: int = 1024 * 1024
    workspace_diff_max_bytes: int = 2 * 1024 * 1024
    workspace_diff_file_max_bytes: int = 256 * 1024
    workspace_frame_max_files: int = 500
    # Uploads: bytes received, bytes once unpacked, files, and path length (bytes).
    upload_max_bytes: int = 1024 * 1024 * 1024
    upload_max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    upload_max_files: int = 20_000
    upload_max_path_length: int = 400

    # Webhooks: per POST, the timeout (s); attempts before a delivery is given up; the
    # backoff after the first failure (s, doubling) and its cap; how often (s) each worker's
    # sender looks for due deliveries. Private, loopback and reserved addresses are refused
    # unless webhook_allow_private (development and tests).
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 8
    webhook_retry_base_s: float = 2.0
    webhook_retry_max_s: float = 3600.0
    webhook_poll_s: float = 1.0
    webhook_allow_private: bool = False

    # Events in Redis (DESIGN §7)
    stream_maxlen: int = 20000
    stream_ttl_s: int = 6 * 3600
    ws_max_frame_bytes: int = 64 * 1024
    ws_queue_size: int = 2000
    ws_ping_interval_s: float = 20.0

    # Subscription limits, per tenant unless a TenantLimits document overrides them (DESIGN §9)
    limit_running_turns: int = 2
    limit_queued_turns: int = 10
    limit_tokens_per_day: int = 5_000_000
    limit_cost_per_month_usd: float = 200.0
    # Retry-After (s) when the running/queued turn limit refuses a turn
    limit_retry_after_s: int = 10
    # Share of a limit (0-1) past which the UI warns the tenant
    limit_warn_share: float = 0.8

    # Billing: the price table turns are priced with (None: the one in the package,
    # app/pricing/prices.json); `wxrunner prices update` writes it.
    price_table: Path | None = None

    # Guardrail (DESIGN §10): extra blocked regexes, matched after normalisation; rule codes
    # switched off (`classifier` switches off the second layer); the classifier's threshold
    # (None: the one shipped with the model).
    guardrail_extra_patterns: list[str] = Field(default_factory=list)
    guardrail_disabled_rules: list[str] = Field(default_factory=list)
    guardrail_classifier_threshold: float | None = Field(default=None, gt=0.0, lt=1.0)

    # Web security (issue 12, web): the bearer token Prometheus sends to /metrics (unset:
    # /metrics answers 404 in prod, and is open in dev and test); how long (s) a sign-in
    # code of the run command's link lives (one use); the largest request body (bytes) of
    # every route but the upload, which has upload_max_bytes.
    metrics_token: SecretStr | None = None
    signin_code_ttl_s: int = Field(default=300, ge=10, le=3600)
    request_max_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Anthropic API simulator
    sim_host: str = "127.0.0.1"
    sim_port: int = 8787
    sim_chars_per_s: float = 2000.0

    @model_validator(mode="after")
    def _default_worker_host(self) -> Settings:
        if not self.worker_host:
            self.worker_host = socket.gethostname()
        return self

    @model_validator(mode="after")
    def _dev_stack_credentials(self) -> Settings:
        defaults = {"redis_url", "mongo_url"} - self.model_fields_set
        found = load_service_secrets(self.data_dir) if defaults else None
        if found is not None:
            if "redis_url" in defaults:
                self.redis_url = found.redis_url(self.redis_url)
            if "mongo_url" in defaults:
                self.mongo_url = found.mongo_url(self.mongo_url)
        return self

    @model_validator(mode="after")
    def _refuse_dev_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise ValueError("WX_JWT_SECRET must be set to a real secret when WX_ENV=prod")
        return self

    @property
    def uses_shared_credential(self) -> bool:
        """Whether a turn of a tenant with no credential of its own may use the shared one."""
        if self.shared_credential_fallback is None:
            return self.env != "prod"
        return self.shared_credential_fallback

    @model_validator(mode="after")
    def _refuse_placeholder_passwords_in_prod(self) -> Settings:
        for name in ("redis_url", "mongo_url", "broker_url"):
            if self.env == "prod" and "replace-with-" in (getattr(self, name) or ""):
                raise ValueError(f"WX_{name.upper()} holds a placeholder password of "
                                 "compose/.env.example: set REDIS_PASSWORD/MONGO_PASSWORD")
        return self

    @model_validator(mode="after")
    def _refuse_unisolated_tenants_in_prod(self) -> Settings:
        if self.env != "prod":
            return self
        if self.executor == "local":
            raise ValueError("WX_EXECUTOR=local runs tenant code unisolated on the host: "
                             "refused when WX_ENV=prod (use docker)")
        if self.container_network == "host":
            raise ValueError("WX_CONTAINER_NETWORK=host lets tenant code reach Redis, MongoDB "
                             "and the API: refused when WX_ENV=prod (use none)")
        return self

    @model_validator(mode="after")
    def _require_credential_key_in_prod(self) -> Settings:
        # after the isolation refusals: those name the more basic problem first
        if self.env == "prod" and self.credential_key is None:
            raise ValueError("WX_CREDENTIAL_KEY must be set when WX_ENV=prod (a Fernet key: "
                             "`wxrunner credential-key`)")
        return self

    @property
    def egress_socket(self) -> Path:
        """The egress proxy's unix socket (its folder is bind-mounted into tenant containers)."""
        return (self.egress_dir or self.data_dir / "egress") / "egress.sock"

    @property
    def tenant_egress(self) -> bool:
        """True when tenant containers go out only through the egress proxy."""
        return self.container_network != "host"

    @property
    def workspaces_dir(self) -> Path:
        return self.data_dir / "workspaces"

    @property
    def has_claude_credentials(self) -> bool:
        return bool(
            self.claude_oauth_token or self.anthropic_api_key or self.claude_credentials_file
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
