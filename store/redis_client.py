"""The studio's one way to make a Redis client: a single server, or a Redis Cluster.

``REDIS_URL`` names the store. ``redis://``, ``rediss://`` and ``unix://`` are one server (a
primary, with Sentinel or a provider's failover in front if you like). ``redis+cluster://host:port``
(or ``rediss+cluster://``) is a Redis Cluster: any one node is enough, the client learns the rest
and follows slots as they move. Every key of a show carries the hash tag ``{<show id>}``, so all
of one show's keys, scripts and pipelines live in one slot: a cluster spreads shows over its
primaries, never one show.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# A cluster client has no waiting pool (past its limit a command fails), so it may open many
# connections per node rather than drop a burst of phones each replaying from the log.
CLUSTER_MAX_CONNECTIONS_PER_NODE = 1024


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


def connect(url: str, pooled: bool = False, **kwargs) -> aioredis.Redis | RedisCluster:
    """A client for ``url``. ``pooled``: a burst of callers waits for one of 64 connections
    (a blocking pool) instead of failing once they are all in use; a cluster client always
    opens one per caller, up to ``CLUSTER_MAX_CONNECTIONS_PER_NODE`` per node."""
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    if scheme in CLUSTER_SCHEMES:
        return RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme]}://{rest}", max_connections=CLUSTER_MAX_CONNECTIONS_PER_NODE, **kwargs)
    if pooled:
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=64, timeout=20, **kwargs)
        return aioredis.Redis(connection_pool=pool)
    return aioredis.Redis.from_url(url, **kwargs)


async def drop_connections(client: aioredis.Redis | RedisCluster) -> None:
    """Close every socket the client holds (a blocked XREAD notices a cancel only then)."""
    if isinstance(client, RedisCluster):
        await client.aclose()  # a cluster client has one pool per node, no pool of its own
    else:
        await client.connection_pool.disconnect()


async def cancel_and_wait(*tasks: asyncio.Task) -> None:
    """Cancel the tasks and wait until each has ended, cancelling again while any lives on: a
    cancel that lands inside a redis-py read can be swallowed there (the task then carries on,
    and whoever waits for it waits forever). Their exceptions are retrieved; check them after."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if not task.cancelled():
            task.exception()
