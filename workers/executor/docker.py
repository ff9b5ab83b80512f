"""DockerExecutor: each run is a `docker exec` in the tenant's long-lived container.

The docker SDK is blocking: its calls run on a thread pool sized for the worker's
concurrency (never the loop's small default pool), each run's output is read by a thread
of its own, and a run costs two API calls (exec create and start): the container is known
from earlier runs, and one wrapper script makes the folders, records the pid and execs."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import tarfile
import threading
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from app.errors import AppError, ExecutorFailed, NotFound
from app.settings import Settings
from app.tarstream import CHUNK_BYTES
from workers.executor._docker_exec import DockerExecution, exec_output, run_to_end, wrap_argv
from workers.executor._docker_maint import reap_container, stop_if_idle
from workers.executor._egress import check_proxy, container_options, ensure_forwarder, proxy_env
from workers.executor._naming import (
    CONFIG_DIR_IN_CONTAINER,
    HOME_IN_CONTAINER,
    WORKSPACE_IN_CONTAINER,
    WX_USER,
    check_id,
    container_name,
    inside,
    volume_names,
)
from workers.executor._streams import blocking_iter, iterate_blocking
from workers.executor._tar import checked_tar
from workers.executor.base import (
    CommandResult,
    Execution,
    Executor,
    ExecutorHealth,
    LiveJobs,
    RunSpec,
)

__all__ = ["WX_USER", "DockerExecutor", "make_docker_client"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_TMPFS = "rw,nosuid,nodev,size=1g,mode=1777"
SHARED_CREDENTIALS_IN_CONTAINER = f"{CONFIG_DIR_IN_CONTAINER}/.credentials.json"


def make_docker_client(settings: Settings, *, pool_size: int = 10) -> Any:
    """A docker SDK client for settings.docker_host, or the environment's engine.

    The SDK keeps one connection pool per request URL (every exec has its own URLs) in an
    LRU of `num_pools` (25 by default) and closes the pool it evicts, even while a thread
    still uses it ('NoneType' object has no attribute 'qsize'): room for every stream."""
    import docker
    from docker.transport import UnixHTTPAdapter

    if settings.docker_host:
        client = docker.DockerClient(base_url=settings.docker_host, max_pool_size=pool_size)
    else:
        client = docker.from_env(max_pool_size=pool_size)
    adapter = client.api._custom_adapter
    if isinstance(adapter, UnixHTTPAdapter):  # docker 7.2 ignores num_pools on unix sockets
        wide = UnixHTTPAdapter(f"http+unix://{adapter.socket_path}", adapter.timeout,
                               pool_connections=4 * pool_size + 64, max_pool_size=pool_size)
        client.api.mount("http+docker://", wide)
        client.api._custom_adapter = wide
    return client


class DockerExecutor(Executor):
    """Tenant containers `wx-tenant-<tenant>`, created on demand, never removed here."""

    def __init__(
        self, settings: Settings, client: Any = None, *, labels: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self._own_client = client is None
        self._client = client
        self.labels = {"wx.runner": "1", "wx.deployment": settings.deployment, **(labels or {})}
        # Each concurrent turn makes a few calls at a time (start, signals, inspect).
        threads = 2 * settings.worker_concurrency + 8
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wx-docker")
        self._known: dict[str, str] = {}  # tenant -> id of its container, last seen running
        self._locks: dict[str, threading.Lock] = {}  # tenant -> held while making its container
        self._shared_file: dict[str, bool] = {}  # container id -> holds the shared credentials

    @property
    def client(self) -> Any:
        """The docker client, made on first use (a worker may start before dockerd)."""
        if self._client is None:
            try:
                self._client = make_docker_client(
                    self.settings, pool_size=self.settings.worker_concurrency + 8)
            except Exception as exc:
                raise ExecutorFailed(f"no Docker engine reachable: {exc}") from exc
        return self._client

    @property
    def claude_bin(self) -> str:
        return self.settings.claude_bin_in_container

    def workdir(self, tenant_id: str, project_id: str) -> str:
        check_id("tenant", tenant_id)
        return f"{WORKSPACE_IN_CONTAINER}/{check_id('project', project_id)}"

    def config_dir(self, tenant_id: str) -> str:
        check_id("tenant", tenant_id)
        return CONFIG_DIR_IN_CONTAINER

    async def start(self, spec: RunSpec) -> Execution:
        workdir = self.workdir(spec.tenant_id, spec.project_id)
        job_id = check_id("job", spec.job_id or uuid.uuid4().hex)
        env = {
            "HOME": HOME_IN_CONTAINER,
            **spec.env,
            **proxy_env(self.settings),
            "CLAUDE_CONFIG_DIR": CONFIG_DIR_IN_CONTAINER,
            "WX_JOB_ID": job_id,
        }
        argv = wrap_argv(job_id, workdir, spec.argv, prelude=ensure_forwarder(self.settings))
        await self._run(check_proxy, self.settings)
        container_id = await self._run(self._container_of, spec.tenant_id)
        try:
            exec_id, sock = await self._run(self._start_exec, container_id, argv, env,
                                            spec.shared_credentials_file)
        except Exception as exc:
            if not _container_gone(exc):
                raise ExecutorFailed(f"cannot start the command: {exc}") from exc
            # Stopped, killed or removed since the last run (or dockerd restarted): again.
            self._known.pop(spec.tenant_id, None)
            container_id = await self._run(self._container_of, spec.tenant_id)
            exec_id, sock = await self._run(self._start_exec, container_id, argv, env,
                                            spec.shared_credentials_file)
        execution = DockerExecution(self.client.api, container_id, exec_id, job_id,
                                    self.settings, self._pool)
        execution.begin(sock)
        return execution

    async def run_command(
        self, tenant_id: str, project_id: str, argv: Sequence[str], *,
        env: Mapping[str, str] | None = None, max_output: int = 1 << 20, timeout_s: float = 60.0,
    ) -> CommandResult:
        workdir = self.workdir(tenant_id, project_id)
        cmd = ["/bin/sh", "-c", _IN_WORKDIR, "wx-cmd", workdir, str(max(1, int(timeout_s))),
               *argv]
        started = time.monotonic()
        result = await self._in_container(tenant_id, run_to_end, cmd, dict(env or {}),
                                          max_output)
        if result.exit_code != 0 and time.monotonic() - started >= timeout_s:
            raise ExecutorFailed(f"{argv[0]} did not finish within {timeout_s:.0f} s")
        return result

    async def put_archive(
        self, tenant_id: str, project_id: str, tar: AsyncIterable[bytes]
    ) -> None:
        made = await self.run_command(tenant_id, project_id, ["true"])  # the folder exists
        if made.exit_code != 0:
            raise ExecutorFailed(f"cannot make the project folder: {made.stderr[-300:]}")
        container_id = await self._run(self._container_of, tenant_id)
        body = checked_tar(blocking_iter(asyncio.get_running_loop(), tar))
        try:
            await self._run(self.client.api.put_archive, container_id,
                            self.workdir(tenant_id, project_id), body)
        except AppError:
            raise
        except Exception as exc:
            refused = _refusal(exc)
            if refused is not None:
                raise refused from exc
            raise ExecutorFailed(f"cannot write into the workspace: {_explain(exc)}") from exc

    async def get_archive(
        self, tenant_id: str, project_id: str, path: str = ""
    ) -> AsyncIterator[bytes]:
        target = inside(self.workdir(tenant_id, project_id), path)
        container_id = await self._run(self._container_of, tenant_id)
        response = await self._run(self._open_archive, container_id, target)
        try:
            async for chunk in iterate_blocking(self._pool,
                                                response.iter_content(CHUNK_BYTES)):
                yield chunk
        finally:
            await self._run(response.close)

    async def health(self) -> ExecutorHealth:
        try:
            count = await self._run(self._count_running)
        except Exception as exc:
            log.warning("docker is not reachable: %s", exc)
            return ExecutorHealth(kind="docker", reachable=False)
        return ExecutorHealth(kind="docker", reachable=True, sandboxes=count)

    async def reap_orphans(self, live: LiveJobs) -> list[str]:
        return await self._run(self._reap, live)

    async def stop_idle(self, max_idle_s: float) -> list[str]:
        return await self._run(self._stop_idle, max_idle_s)

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._run(self._client.close)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def ensure_container(self, tenant_id: str) -> Any:
        """The tenant's container, created or started as needed (blocking)."""
        import docker.errors

        name = container_name(tenant_id)
        try:
            container = self.client.containers.get(name)
        except docker.errors.NotFound:
            container = self._create(tenant_id)
        else:
            if self._outdated(container):
                container.remove(force=True)  # its volumes (the tenant's files) stay
                container = self._create(tenant_id)
        if container.status != "running":
            container.start()
            container.reload()
        return container

    def _outdated(self, container: Any) -> bool:
        """A container made from another image or network setting (e.g. before the egress
        proxy: `host`, and an image without the forwarder)."""
        made = (container.attrs.get("Config", {}).get("Image"),
                container.attrs.get("HostConfig", {}).get("NetworkMode"))
        wanted = (self.settings.tenant_image, self.settings.container_network)
        if made == wanted:
            return False
        log.warning("replacing tenant container %s: made with %s, wanted %s", container.name,
                    made, wanted)
        return True

    def tenant_containers(self, *, running_only: bool = True) -> list[Any]:
        """The containers this executor manages (by its labels)."""
        filters = {"label": [f"{k}={v}" for k, v in self.labels.items()]}
        if running_only:
            filters["status"] = ["running"]
        return list(self.client.containers.list(all=not running_only, filters=filters))

    async def _in_container(self, tenant_id: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(api, container_id, *args)` on the pool, on the tenant's running container
        (made again if it went away since it was last seen)."""
        container_id = await self._run(self._container_of, tenant_id)
        try:
            return await self._run(fn, self.client.api, container_id, *args)
        except Exception as exc:
            if not _container_gone(exc):
                raise ExecutorFailed(f"docker exec failed: {_explain(exc)}") from exc
            self._known.pop(tenant_id, None)
            container_id = await self._run(self._container_of, tenant_id)
            return await self._run(fn, self.client.api, container_id, *args)

    def _open_archive(self, container_id: str, target: str) -> Any:
        # The SDK's get_archive() never closes its response when the reader stops early (a
        # pooled connection would stay taken): the same call, keeping the response.
        api = self.client.api
        response = api._get(api._url("/containers/{0}/archive", container_id),
                            params={"path": target}, stream=True)
        if response.status_code == 404:
            response.close()
            raise NotFound("Path")
        api._raise_for_status(response)
        return response

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    def _container_of(self, tenant_id: str) -> str:
        known = self._known.get(tenant_id)
        if known is not None:
            return known
        # The first runs of a tenant, all at once, create its container once.
        with self._locks.setdefault(tenant_id, threading.Lock()):
            known = self._known.get(tenant_id)
            if known is None:
                known = self._known[tenant_id] = str(self.ensure_container(tenant_id).id)
        return known

    def _count_running(self) -> int:
        self.client.ping()
        return len(self.tenant_containers())

    def _stop_idle(self, max_idle_s: float) -> list[str]:
        stopped = []
        for container in self.tenant_containers():
            if stop_if_idle(container, max_idle_s):
                log.info("stopped idle container %s", container.name)
                self._known = {t: c for t, c in self._known.items() if c != container.id}
                stopped.append(str(container.name))
        return stopped

    def _reap(self, live: LiveJobs) -> list[str]:
        reaped: list[str] = []
        for container in self.tenant_containers():
            reaped += reap_container(container, live, self.settings, live.since.timestamp())
        if reaped:
            log.warning("ended orphaned claude runs of jobs %s", reaped)
        return reaped

    def _start_exec(
        self, container_id: str, cmd: list[str], env: dict[str, str], shared_file: bool
    ) -> tuple[str, Any]:
        self._place_shared_file(container_id, shared_file)
        api = self.client.api
        exec_id = api.exec_create(
            container_id, cmd, stdout=True, stderr=True, stdin=False, tty=False,
            environment=env, workdir="/", user=WX_USER,
        )["Id"]
        return exec_id, api.exec_start(exec_id, socket=True)

    def _create(self, tenant_id: str) -> Any:
        import docker.errors

        labels = {**self.labels, "wx.tenant": tenant_id}
        workspace, home = volume_names(tenant_id)
        network = container_options(self.settings)
        for volume in (workspace, home):
            try:
                self.client.volumes.get(volume)
            except docker.errors.NotFound:
                self.client.volumes.create(name=volume, labels=labels)
        try:
            container = self.client.containers.run(
                self.settings.tenant_image,
                name=container_name(tenant_id),
                detach=True,
                labels=labels,
                init=True,
                user=WX_USER,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                privileged=False,
                mem_limit=self.settings.container_memory,
                memswap_limit=self.settings.container_memory,
                nano_cpus=int(self.settings.container_cpus * 1e9),
                cpu_shares=self.settings.container_cpu_shares,
                pids_limit=self.settings.container_pids,
                read_only=True,
                tmpfs={"/tmp": _TMPFS},
                volumes={
                    workspace: {"bind": WORKSPACE_IN_CONTAINER, "mode": "rw"},
                    home: {"bind": HOME_IN_CONTAINER, "mode": "rw"},
                    **network.pop("volumes", {}),
                },
                environment={"HOME": HOME_IN_CONTAINER},
                **network,
            )
        except docker.errors.ImageNotFound as exc:
            raise ExecutorFailed(
                f"tenant image {self.settings.tenant_image} is missing: run `wxrunner image build`"
            ) from exc
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: another worker created it first
                raise ExecutorFailed(f"cannot create the tenant container: {exc}") from exc
            return self._created_elsewhere(tenant_id)
        log.info("created tenant container %s", container.name)
        return container

    def _created_elsewhere(self, tenant_id: str) -> Any:
        """The container another process is creating: its name is taken a moment before
        the engine can find it by that name."""
        import docker.errors

        deadline = time.monotonic() + 30
        while True:
            try:
                return self.client.containers.get(container_name(tenant_id))
            except docker.errors.NotFound:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _place_shared_file(self, container_id: str, wanted: bool) -> None:
        """The operator's shared OAuth credentials file in the container's config dir only
        for a run that uses it (the shared fallback): any tenant code there can read it."""
        source = self.settings.claude_credentials_file
        if source is None or self._shared_file.get(container_id) is wanted:
            return
        if wanted:
            self._install_credentials(container_id, source.read_bytes())
        else:
            code, out = exec_output(self.client.api, container_id,
                                    ["/bin/sh", "-c", 'rm -f "$1"', "wx-rm",
                                     SHARED_CREDENTIALS_IN_CONTAINER])
            if code != 0:
                raise ExecutorFailed(f"cannot clear the shared credentials: {out[-300:]!r}")
        self._shared_file[container_id] = wanted

    def _install_credentials(self, container_id: str, data: bytes) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            folder = tarfile.TarInfo(".claude")
            folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o700, 1000, 1000
            tar.addfile(folder)
            info = tarfile.TarInfo(".claude/.credentials.json")
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, 1000, 1000
            tar.addfile(info, io.BytesIO(data))
        if not self.client.api.put_archive(container_id, HOME_IN_CONTAINER, buf.getvalue()):
            raise ExecutorFailed("cannot copy the claude credentials into the tenant container")


# $1 workdir, $2 time limit (s), then the command: make the folder, enter it, run it.
_IN_WORKDIR = 'w=$1 t=$2; shift 2; mkdir -p "$w" && cd "$w" && exec timeout -s KILL "$t" "$@"'


def _refusal(exc: BaseException) -> AppError | None:
    """The AppError a checked upload raised inside the SDK's request, if that is the cause."""
    while exc is not None:
        if isinstance(exc, AppError):
            return exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def _explain(exc: Exception) -> str:
    return str(getattr(exc, "explanation", None) or exc)[:500]


def _container_gone(exc: Exception) -> bool:
    """The exec failed because the container is not there or not running (404, 409), or
    the engine dropped its connections (dockerd restarted)."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectionError):
        return True
    return getattr(exc, "status_code", None) in (404, 409)
