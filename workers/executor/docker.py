"""DockerExecutor: each run is a `docker exec` in the tenant's long-lived container."""

from __future__ import annotations

import asyncio
import io
import logging
import tarfile
import uuid
from collections.abc import Container, Iterable, Mapping
from typing import Any

from app.errors import ExecutorFailed
from app.settings import Settings
from workers.executor._docker_exec import LAST_USED, DockerExecution, wrap_argv
from workers.executor._docker_maint import reap_container, stop_if_idle
from workers.executor._naming import (
    CONFIG_DIR_IN_CONTAINER,
    HOME_IN_CONTAINER,
    RUN_DIR_IN_CONTAINER,
    WORKSPACE_IN_CONTAINER,
    check_id,
    container_name,
    volume_names,
)
from workers.executor.base import Execution, Executor, RunSpec

__all__ = ["WX_USER", "DockerExecutor", "make_docker_client"]

log = logging.getLogger(__name__)

WX_USER = "1000:1000"
_TMPFS = "rw,nosuid,nodev,size=1g,mode=1777"


def make_docker_client(settings: Settings) -> Any:
    """A docker SDK client for settings.docker_host, or the environment's engine."""
    import docker

    if settings.docker_host:
        return docker.DockerClient(base_url=settings.docker_host)
    return docker.from_env()


class DockerExecutor(Executor):
    """Tenant containers `wx-tenant-<tenant>`, created on demand, never removed here."""

    def __init__(
        self, settings: Settings, client: Any = None, *, labels: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self._own_client = client is None
        self.client = client if client is not None else make_docker_client(settings)
        self.labels = {"wx.runner": "1", "wx.deployment": settings.deployment, **(labels or {})}

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
        container = await asyncio.to_thread(self.ensure_container, spec.tenant_id)
        env = {
            "HOME": HOME_IN_CONTAINER,
            **spec.env,
            "CLAUDE_CONFIG_DIR": CONFIG_DIR_IN_CONTAINER,
            "WX_JOB_ID": job_id,
        }
        exec_id, sock = await asyncio.to_thread(
            self._start_exec, container, workdir, wrap_argv(job_id, spec.argv), env
        )
        execution = DockerExecution(self.client.api, container.id, exec_id, job_id, self.settings)
        execution.begin(sock)
        return execution

    async def close(self) -> None:
        if self._own_client:
            await asyncio.to_thread(self.client.close)

    def ensure_container(self, tenant_id: str) -> Any:
        """The tenant's container, created or started as needed (blocking)."""
        import docker.errors

        name = container_name(tenant_id)
        try:
            container = self.client.containers.get(name)
        except docker.errors.NotFound:
            container = self._create(tenant_id)
        if container.status != "running":
            container.start()
            container.reload()
        return container

    def tenant_containers(self, *, running_only: bool = True) -> list[Any]:
        """The containers this executor manages (by its labels)."""
        filters = {"label": [f"{k}={v}" for k, v in self.labels.items()]}
        if running_only:
            filters["status"] = ["running"]
        return list(self.client.containers.list(all=not running_only, filters=filters))

    async def stop_idle_containers(self, max_idle_s: float | None = None) -> list[str]:
        """Stop containers with no run for `max_idle_s` (default settings.container_idle_s)."""
        limit = self.settings.container_idle_s if max_idle_s is None else max_idle_s
        return await asyncio.to_thread(self._stop_idle, limit)

    async def reap_orphans(
        self, live_job_ids: Iterable[str], *, started_before: float | None = None
    ) -> list[str]:
        """End claude processes whose job is not in `live_job_ids`; the reaped job ids.

        `live_job_ids` must hold every job queued or running anywhere on this host (from
        the job store), not only this worker's: the containers are shared by all workers.
        A Container with its own `__contains__` is used as is. `started_before` (epoch
        seconds) is when that snapshot was taken, minus any clock skew: runs that began
        after it are never reaped, since their jobs may be missing from the snapshot."""
        live = live_job_ids if isinstance(live_job_ids, Container) else set(live_job_ids)
        return await asyncio.to_thread(self._reap, live, started_before)

    def _stop_idle(self, max_idle_s: float) -> list[str]:
        stopped = []
        for container in self.tenant_containers():
            if stop_if_idle(container, max_idle_s):
                log.info("stopped idle container %s", container.name)
                stopped.append(str(container.name))
        return stopped

    def _reap(self, live: Container[str], started_before: float | None) -> list[str]:
        reaped: list[str] = []
        for container in self.tenant_containers():
            reaped += reap_container(container, live, self.settings, started_before)
        if reaped:
            log.warning("ended orphaned claude runs of jobs %s", reaped)
        return reaped

    def _start_exec(
        self, container: Any, workdir: str, cmd: list[str], env: dict[str, str]
    ) -> tuple[str, Any]:
        api = self.client.api
        prep = api.exec_create(
            container.id,
            ["mkdir", "-p", workdir, RUN_DIR_IN_CONTAINER, CONFIG_DIR_IN_CONTAINER],
            user=WX_USER,
        )["Id"]
        api.exec_start(prep)
        if api.exec_inspect(prep).get("ExitCode") != 0:
            raise ExecutorFailed(f"cannot create {workdir} in {container.name}")
        api.exec_start(api.exec_create(container.id, ["touch", LAST_USED], user=WX_USER)["Id"])
        exec_id = api.exec_create(
            container.id, cmd, stdout=True, stderr=True, stdin=False, tty=False,
            environment=env, workdir=workdir, user=WX_USER,
        )["Id"]
        return exec_id, api.exec_start(exec_id, socket=True)

    def _create(self, tenant_id: str) -> Any:
        import docker.errors

        labels = {**self.labels, "wx.tenant": tenant_id}
        workspace, home = volume_names(tenant_id)
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
                pids_limit=self.settings.container_pids,
                read_only=True,
                tmpfs={"/tmp": _TMPFS},
                volumes={
                    workspace: {"bind": WORKSPACE_IN_CONTAINER, "mode": "rw"},
                    home: {"bind": HOME_IN_CONTAINER, "mode": "rw"},
                },
                network_mode=self.settings.container_network,
                environment={"HOME": HOME_IN_CONTAINER},
            )
        except docker.errors.ImageNotFound as exc:
            raise ExecutorFailed(
                f"tenant image {self.settings.tenant_image} is missing: run `wxrunner image build`"
            ) from exc
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: another worker created it first
                raise ExecutorFailed(f"cannot create the tenant container: {exc}") from exc
            return self.client.containers.get(container_name(tenant_id))
        log.info("created tenant container %s", container.name)
        self._install_credentials(container)
        return container

    def _install_credentials(self, container: Any) -> None:
        source = self.settings.claude_credentials_file
        if source is None:
            return
        data = source.read_bytes()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            folder = tarfile.TarInfo(".claude")
            folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o700, 1000, 1000
            tar.addfile(folder)
            info = tarfile.TarInfo(".claude/.credentials.json")
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, 1000, 1000
            tar.addfile(info, io.BytesIO(data))
        if not container.put_archive(HOME_IN_CONTAINER, buf.getvalue()):
            raise ExecutorFailed("cannot copy the claude credentials into the tenant container")
