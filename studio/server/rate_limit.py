"""Token-bucket rate limits per key (a device, an IP), in process memory.

A flood from one key is answered 429 at once, before any Redis work, so it cannot slow anyone
else down. Buckets of keys not seen for a while are dropped, so memory stays bounded under a
flood of made-up keys. Limits are per studio process (the studio's ingress is sticky per client).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: float  # bucket size


class RateLimiter:
    def __init__(self, limit: Limit, max_keys: int = 200_000, clock=time.monotonic):
        self.limit = limit
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, last refill]

    def check(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if allowed, else seconds until one is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self.limit.burst, now]
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.limit.burst, bucket[0] + (now - bucket[1]) * self.limit.rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / self.limit.rate
