"""The host choice of tenant affinity and the parsing of registry entries (no I/O)."""

from __future__ import annotations

import time

from app.services.hosts import HostInfo, _parse, choose_host, host_queue, split_host_queue


def _host(name: str, containers: int = 0) -> HostInfo:
    return HostInfo(host=name, executor="docker", docker=True, containers=containers,
                    queues=frozenset({"chat"}))


class TestChooseHost:
    def test_no_candidate(self) -> None:
        assert choose_host([], {}) is None

    def test_fewest_tenants_wins(self) -> None:
        hosts = [_host("a"), _host("b"), _host("c")]
        assert choose_host(hosts, {"a": 3, "b": 1, "c": 2}) == "b"

    def test_unknown_count_is_zero(self) -> None:
        assert choose_host([_host("a"), _host("b")], {"a": 1}) == "b"

    def test_containers_break_a_tie_then_the_name(self) -> None:
        assert choose_host([_host("a", 5), _host("b", 2)], {"a": 1, "b": 1}) == "b"
        assert choose_host([_host("b", 2), _host("a", 2)], {}) == "a"


def test_host_queue_round_trip() -> None:
    assert host_queue("chat", "host-a") == "chat.host-a"
    assert split_host_queue("chat.host-a.example.com") == ("chat", "host-a.example.com")
    assert split_host_queue("conversions") == ("conversions", None)


def test_parse_keeps_only_fresh_queues() -> None:
    now = time.time()
    raw: dict[bytes | str, bytes | str] = {
        b"host": b"h1", b"executor": b"docker", b"docker": b"1", b"containers": b"4",
        b"last_seen": str(now).encode(), b"ttl": b"30",
        b"q:chat": str(now - 5).encode(), b"q:conversions": str(now - 60).encode(),
    }
    info = _parse(b"wx:host:h1", raw, now)
    assert (info.host, info.executor, info.docker, info.containers) == ("h1", "docker", True, 4)
    assert info.serves("chat") and not info.serves("conversions")
