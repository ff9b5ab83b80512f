"""Worker hosts and tenant affinity (DESIGN §11), in Redis.

Each worker process refreshes `wx:host:<host>` (a hash that expires after 3 heartbeat
periods) with what its host offers: executor kind, Docker reachable, running tenant
containers, and one `q:<queue>` field per queue it consumes (the time it last said so,
by Redis's clock); the set `wx:hosts` names every host that ever registered.
A tenant's container lives on one host: `wx:affinity:<tenant>` names it, and its turns
go to `<queue>.<host>`. When that host is gone, the tenant moves to the alive host with
the fewest tenants (`wx:host-tenants:<host>` sets), with a compare-and-set so two
dispatchers never split a tenant. With no host registered at all, turns go to the
generic queue (development, the API-only tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from app.keys import HOST_PREFIX, HOSTS, affinity_key, host_key, host_tenants_key

__all__ = [
    "HostInfo",
    "alive_hosts",
    "choose_host",
    "get_affinity",
    "host_queue",
    "register_host",
    "route_queue",
    "split_host_queue",
    "tenant_host",
]

_TTL_PERIODS = 3
_CAS_ATTEMPTS = 3

# KEYS: affinity, old host's tenant set ('' when none), new host's tenant set.
# ARGV: expected current host ('' = unset), new host, tenant. Returns the host now set.
_MOVE_AFFINITY = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  if current then redis.call('SREM', KEYS[2], ARGV[3]) end
  redis.call('SADD', KEYS[3], ARGV[3])
  return ARGV[2]
end
return current
"""


@dataclass(frozen=True)
class HostInfo:
    """One registered worker host, as its last heartbeat described it."""

    host: str
    executor: str = "local"
    docker: bool = False
    containers: int = 0
    last_seen: float = 0.0
    queues: frozenset[str] = field(default_factory=frozenset)

    def serves(self, queue: str) -> bool:
        return queue in self.queues


def host_queue(queue: str, host: str) -> str:
    """The queue of `queue` turns routed to `host`."""
    return f"{queue}.{host}"


def split_host_queue(routed: str) -> tuple[str, str | None]:
    """(generic queue, host or None) of a routed queue name."""
    queue, _, host = routed.partition(".")
    return queue, host or None


async def register_host(
    redis: Redis,
    *,
    host: str,
    queues: Iterable[str],
    executor: str,
    docker: bool,
    containers: int,
    heartbeat_s: float,
) -> None:
    """Refresh this host's registry entry (expires after 3 heartbeat periods)."""
    now = await _server_time(redis)
    ttl = heartbeat_s * _TTL_PERIODS
    mapping: dict[Any, Any] = {
        "host": host, "executor": executor, "docker": "1" if docker else "0",
        "containers": str(containers), "last_seen": f"{now:.3f}", "ttl": f"{ttl:.3f}",
    }
    mapping.update({f"q:{q}": f"{now:.3f}" for q in queues})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(host_key(host), mapping=mapping)
        pipe.pexpire(host_key(host), max(1, int(ttl * 1000)))
        pipe.sadd(HOSTS, host)
        await pipe.execute()


async def alive_hosts(redis: Redis) -> list[HostInfo]:
    """Every host whose registry entry has not expired, sorted by name."""
    names = sorted(_text(n) for n in await redis.smembers(HOSTS))  # type: ignore[misc]
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(host_key(name))
        entries = await pipe.execute()
    now = await _server_time(redis)
    return [_parse(host_key(name), raw, now)
            for name, raw in zip(names, entries, strict=True) if raw]


async def _server_time(redis: Redis) -> float:
    """Redis's clock, so that hosts with skewed clocks still agree on ages."""
    seconds, micros = await redis.time()
    return float(seconds) + float(micros) / 1e6


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse(key: bytes | str, raw: Mapping[bytes | str, bytes | str], now: float) -> HostInfo:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    name = _text(key)
    ttl = float(fields.get("ttl", "0") or 0)
    # A queue the host stopped consuming (that worker died, the other lives on) expires alone.
    queues = frozenset(k[2:] for k, v in fields.items()
                       if k.startswith("q:") and now - float(v) <= ttl)
    return HostInfo(
        host=fields.get("host") or name.removeprefix(HOST_PREFIX),
        executor=fields.get("executor", "local"),
        docker=fields.get("docker") == "1",
        containers=int(fields.get("containers", "0") or 0),
        last_seen=float(fields.get("last_seen", "0") or 0),
        queues=queues,
    )


def choose_host(candidates: Sequence[HostInfo], tenants: Mapping[str, int]) -> str | None:
    """The host to give a tenant: fewest tenants, then fewest containers, then by name."""
    if not candidates:
        return None
    best = min(candidates, key=lambda h: (tenants.get(h.host, 0), h.containers, h.host))
    return best.host


async def get_affinity(redis: Redis, tenant_id: str) -> str | None:
    """The host that holds the tenant's container, if any was chosen."""
    raw = await redis.get(affinity_key(tenant_id))
    return raw.decode() if isinstance(raw, bytes) else raw


async def route_queue(redis: Redis, queue: str, tenant_id: str) -> str:
    """The queue a tenant's `queue` turn goes to: its host's, or the generic one."""
    host = await _route(redis, tenant_id, lambda h: h.serves(queue))
    return queue if host is None else host_queue(queue, host)


async def tenant_host(redis: Redis, tenant_id: str) -> str | None:
    """The alive host that holds the tenant's container (chosen now, the way a turn's is,
    when it has none); None when no host is alive."""
    return await _route(redis, tenant_id, lambda h: True)


async def _route(redis: Redis, tenant_id: str, eligible: Callable[[HostInfo], bool]) -> str | None:
    for _ in range(_CAS_ATTEMPTS):
        candidates = [h for h in await alive_hosts(redis) if eligible(h)]
        if not candidates:
            return None
        current = await get_affinity(redis, tenant_id)
        if current is not None and any(h.host == current for h in candidates):
            return current
        counts = {h.host: int(await redis.scard(host_tenants_key(h.host))) for h in candidates}  # type: ignore[misc]
        chosen = choose_host(candidates, counts)
        assert chosen is not None
        now_set = await _move_affinity(redis, tenant_id, current, chosen)
        if now_set == chosen:
            return chosen
        # Another dispatcher moved the tenant first: use its choice if that host is alive.
    return None


async def _move_affinity(redis: Redis, tenant_id: str, expected: str | None, new: str) -> str:
    old_set = host_tenants_key(expected or "")
    result = await redis.eval(  # type: ignore[misc]
        _MOVE_AFFINITY, 3, affinity_key(tenant_id), old_set, host_tenants_key(new),
        expected or "", new, tenant_id,
    )
    return result.decode() if isinstance(result, bytes) else str(result)
