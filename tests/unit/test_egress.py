"""The egress proxy's allow rule and request parsing, the tenant containers' network
options, and the prod refusals of unisolated executors (no I/O)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.errors import ExecutorFailed
from app.settings import Settings
from workers.egress_proxy import (
    EgressRefused,
    Target,
    allowed_targets,
    parse_host_port,
    parse_request_head,
)
from workers.executor import create_executor
from workers.executor._egress import container_options, ensure_forwarder, proxy_env

PROD_SECRET = "a-real-secret-for-the-unit-tests-0123456789"


def _prod(**values: Any) -> Settings:
    return Settings(env="prod", jwt_secret=SecretStr(PROD_SECRET), **values)


class TestAllowedTargets:
    def test_default_is_the_anthropic_api(self) -> None:
        settings = Settings(anthropic_base_url=None, egress_allowed_hosts=[])
        assert allowed_targets(settings) == {Target("api.anthropic.com", 443)}

    def test_a_credentials_file_adds_the_oauth_refresh_host(self) -> None:
        settings = Settings(anthropic_base_url=None, claude_credentials_file=Path("/c.json"))
        assert allowed_targets(settings) == {Target("api.anthropic.com", 443),
                                             Target("platform.claude.com", 443)}

    @pytest.mark.parametrize(("url", "target"), [
        ("http://127.0.0.1:8787", Target("127.0.0.1", 8787)),
        ("http://127.0.0.1:8787/some/prefix", Target("127.0.0.1", 8787)),
        ("https://Gateway.Example.com", Target("gateway.example.com", 443)),
        ("http://sim.internal.", Target("sim.internal", 80)),
        ("http://[::1]:9000", Target("::1", 9000)),
    ])
    def test_from_the_base_url(self, url: str, target: Target) -> None:
        assert allowed_targets(Settings(anthropic_base_url=url)) == {target}

    def test_extra_hosts(self) -> None:
        settings = Settings(anthropic_base_url=None,
                            egress_allowed_hosts=["statsig.anthropic.com", "x.example:8443"])
        assert allowed_targets(settings) == {
            Target("api.anthropic.com", 443), Target("statsig.anthropic.com", 443),
            Target("x.example", 8443)}

    @pytest.mark.parametrize("url", ["ftp://x:21", "127.0.0.1:8787", "http://"])
    def test_a_bad_base_url_is_refused(self, url: str) -> None:
        with pytest.raises(ValueError, match="not an http"):
            allowed_targets(Settings(anthropic_base_url=url))


class TestParseHostPort:
    @pytest.mark.parametrize("text", ["", ":443", "host", "host:0", "host:99999", "host:x",
                                      "user@host:443", "host:443/path"])
    def test_refused(self, text: str) -> None:
        with pytest.raises(EgressRefused) as refused:
            parse_host_port(text)
        assert refused.value.status == 400

    def test_case_and_trailing_dot_do_not_make_another_host(self) -> None:
        assert parse_host_port("API.Anthropic.COM.:443") == Target("api.anthropic.com", 443)


class TestParseRequestHead:
    def test_connect(self) -> None:
        request = parse_request_head(b"CONNECT api.anthropic.com:443 HTTP/1.1\r\n"
                                     b"Host: api.anthropic.com:443\r\n\r\n")
        assert (request.method, request.target, request.head) == (
            "CONNECT", Target("api.anthropic.com", 443), b"")

    def test_absolute_http_becomes_origin_form_one_request_per_connection(self) -> None:
        request = parse_request_head(
            b"POST http://127.0.0.1:8787/v1/messages?beta=true HTTP/1.1\r\n"
            b"Host: 127.0.0.1:8787\r\nProxy-Connection: keep-alive\r\n"
            b"Proxy-Authorization: Basic eA==\r\nConnection: keep-alive\r\n"
            b"Content-Length: 2\r\n\r\n")
        assert request.target == Target("127.0.0.1", 8787)
        assert request.head == (b"POST /v1/messages?beta=true HTTP/1.1\r\n"
                                b"Host: 127.0.0.1:8787\r\nContent-Length: 2\r\n"
                                b"Connection: close\r\n\r\n")

    def test_default_http_port(self) -> None:
        assert parse_request_head(b"GET http://example.com/ HTTP/1.1\r\n\r\n").target == \
            Target("example.com", 80)

    @pytest.mark.parametrize("head", [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n",  # origin-form: no target named
        b"GET https://api.anthropic.com/ HTTP/1.1\r\n\r\n",  # https goes by CONNECT
        b"GET ftp://x/ HTTP/1.1\r\n\r\n",
        b"CONNECT x:443 HTTP/2\r\n\r\n",
        b"CONNECT x:443\r\n\r\n",
        b"\xff\xfe HTTP/1.1\r\n\r\n",
    ])
    def test_refused(self, head: bytes) -> None:
        with pytest.raises(EgressRefused) as refused:
            parse_request_head(head)
        assert refused.value.status == 400


class TestContainerOptions:
    def test_network_none_mounts_the_socket_folder_read_only(self) -> None:
        settings = Settings(egress_dir=Path("/run/wx-egress-test"))
        options = container_options(settings)
        assert options["network_mode"] == "none"
        assert options["volumes"] == {"/run/wx-egress-test": {"bind": "/run/wx-egress",
                                                              "mode": "ro"}}
        assert "socat TCP-LISTEN:3128,bind=127.0.0.1" in options["command"][-1]
        assert "UNIX-CONNECT:/run/wx-egress/egress.sock" in options["command"][-1]

    def test_a_named_volume_when_the_worker_runs_in_a_container(self) -> None:
        options = container_options(Settings(egress_volume="wx-egress"))
        assert options["volumes"] == {"wx-egress": {"bind": "/run/wx-egress", "mode": "ro"}}

    def test_proxy_variables_point_at_the_forwarder(self) -> None:
        env = proxy_env(Settings(egress_forward_port=4000))
        assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:4000"
        assert env["NO_PROXY"] == ""  # nothing, the simulator at 127.0.0.1 included, bypasses
        assert "0100007F:0FA0 00000000:0000 0A" in ensure_forwarder(Settings(
            egress_forward_port=4000))

    def test_network_host_has_no_proxy(self) -> None:
        settings = Settings(container_network="host")
        assert container_options(settings) == {"network_mode": "host"}
        assert proxy_env(settings) == {} and ensure_forwarder(settings) == ""

    def test_a_socket_path_too_long_for_unix_sockets(self) -> None:
        with pytest.raises(ExecutorFailed, match="WX_EGRESS_DIR"):
            container_options(Settings(egress_dir=Path("/" + "d" * 120)))


class TestProdRefusals:
    def test_prod_refuses_the_local_executor(self) -> None:
        with pytest.raises(ValidationError, match="WX_EXECUTOR=local"):
            _prod(executor="local")

    def test_prod_refuses_network_host(self) -> None:
        with pytest.raises(ValidationError, match="WX_CONTAINER_NETWORK=host"):
            _prod(executor="docker", container_network="host")

    def test_prod_keeps_docker_with_network_none(self) -> None:
        try:
            settings = _prod(executor="docker")
        except ValidationError as exc:  # another prod requirement, not ours
            assert "WX_EXECUTOR" not in str(exc) and "WX_CONTAINER_NETWORK" not in str(exc)
        else:
            assert settings.container_network == "none"

    def test_dev_and_test_keep_both(self) -> None:
        for env in ("dev", "test"):
            settings = Settings(env=env, executor="local", container_network="host")
            assert settings.executor == "local" and not settings.tenant_egress

    def test_prod_refuses_auto_resolving_to_local(self) -> None:
        settings = Settings.model_construct(
            **{**Settings().model_dump(), "env": "prod", "executor": "auto",
               "docker_host": "unix:///nonexistent/wx-test-docker.sock"})
        with pytest.raises(ExecutorFailed, match="refused when WX_ENV=prod"):
            create_executor(settings)

    def test_dev_auto_still_falls_back_to_local(self) -> None:
        settings = Settings(executor="auto", docker_host="unix:///nonexistent/wx-docker.sock")
        assert type(create_executor(settings)).__name__ == "LocalExecutor"
