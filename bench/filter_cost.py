"""What the content filter costs per token at show rate: 8 streams × 50 tok/s, shipped rules.

Eight synthetic answers (English and Chinese quiz/debate prose with numbers, near misses of the
banned phrases such as "forbidden fruit" and "违禁物品", and now and then a phrase the shipped
rules mask) are cut into tokens of 1–6 characters and paced at ``--rate`` tokens/s per stream,
round-robin on one thread like the studio's event loop. Every token goes, in the same tick,
through an identity function (the floor: what passing the token on costs) and through that
stream's ``StreamFilter``. Cut and hold phrases are left out so no stream stops or stalls.

Printed:
- CPU time per token (``thread_time``, timer overhead included in both) and the ratio;
- added latency: feed → release wall time for tokens released by the call that fed them,
  p50/p99 in µs against the identity's;
- tokens the filter held back (a possible phrase or card-number prefix) and for how long: that
  wait is by design (text that might still become a hit cannot go on air);
- the filter's share of one core at this rate, and its unpaced throughput and per-feed times
  with warm caches (paced feeds right after a 20 ms sleep run on cold caches: that is the p99).

    .venv/bin/python bench/filter_cost.py               # 10 s paced run, under 30 s in all
    .venv/bin/python bench/filter_cost.py --seconds 5 --streams 8 --rate 50
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safety import StreamFilter, shipped_rules  # noqa: E402

EN = [
    "The capital of Belgium is Brussels, home to about 1.2 million people.",
    "In 1969 the first crewed landing on the Moon took place.",
    "My opponent forgets that the forbidden fruit in the story is a metaphor.",
    "A secret launch schedule would not survive a single press conference.",
    "Classified documents are, by definition, not something I can quote.",
    "The answer is 42, although 6 × 7 is the more honest way to write it.",
    "Water boils at 100 °C at sea level; at altitude it boils earlier.",
    "Let me be clear: the motion assumes a budget of 3,500,000 euros.",
    "First, the data: 17% of respondents agreed, 64% disagreed.",
    "He said the forbidden phrase on air, which is why we blank it.",
    "Payment details such as 4111 1111 1111 1111 must never be read out.",
    "To summarise: faster, cheaper, and easier to verify.",
]
ZH = [
    "比利时的首都是布鲁塞尔，人口约一百二十万。",
    "1969年，人类第一次登上月球。",
    "对方辩友忽略了一个事实：违禁物品的定义在各国并不相同。",
    "机密文件不能在节目中引用，这是常识。",
    "答案是四十二，也就是六乘以七。",
    "总结一下：更快、更便宜、也更容易验证。",
    "他刚才说出了违禁词语，所以这一段被遮盖了。",
    "根据调查，百分之十七的受访者表示同意。",
]


def synthetic_stream(seed: int, min_tokens: int) -> list[str]:
    rng = random.Random(seed)
    text = ""
    while len(text) < min_tokens * 6:
        text += rng.choice(EN if rng.random() < 0.6 else ZH) + " "
    tokens, i = [], 0
    while i < len(text):
        n = rng.randint(1, 6)
        tokens.append(text[i : i + n])
        i += n
    return tokens


def identity(token: str) -> list[str]:
    return [token]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def paced(streams: list[list[str]], rate: float, seconds: float, rules) -> dict:
    filters = [StreamFilter(rules) for _ in streams]
    raw_end = [0] * len(streams)  # raw characters fed per stream
    released = [0] * len(streams)  # characters released per stream
    waiting: list[list[tuple[int, int]]] = [[] for _ in streams]  # (raw end, fed at ns) of held tokens
    cpu_f, cpu_i, lat_f, lat_i, held_ms = [], [], [], [], []
    ticks, period = int(seconds * rate), 1.0 / rate
    t0 = time.perf_counter()
    for tick in range(ticks):
        delay = t0 + tick * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for s, tokens in enumerate(streams):
            token = tokens[tick % len(tokens)]
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            identity(token)
            w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
            cpu_i.append(c1 - c0)
            lat_i.append(w1 - w0)
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            out = filters[s].feed(token)
            w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
            cpu_f.append(c1 - c0)
            raw_end[s] += len(token)
            released[s] += sum(len(r.text) for r in out)
            if released[s] >= raw_end[s]:
                lat_f.append(w1 - w0)
            else:
                waiting[s].append((raw_end[s], w0))
            while waiting[s] and waiting[s][0][0] <= released[s]:
                held_ms.append((w1 - waiting[s].pop(0)[1]) / 1e6)
    wall = time.perf_counter() - t0
    hits = sum(len(f.hits) for f in filters)
    return dict(
        cpu_f=cpu_f,
        cpu_i=cpu_i,
        lat_f=lat_f,
        lat_i=lat_i,
        held_ms=held_ms,
        wall=wall,
        tokens=len(cpu_f),
        hits=hits,
        still_waiting=sum(map(len, waiting)),
    )


def unpaced(tokens: list[str], rules, repeat: int = 5) -> tuple[float, list[int]]:
    """Best-of-``repeat`` throughput on one core, and per-feed wall times with warm caches."""
    best = float("inf")
    for _ in range(repeat):
        f = StreamFilter(rules)
        c0 = time.process_time()
        for t in tokens:
            f.feed(t)
        f.finish()
        best = min(best, time.process_time() - c0)
    f, lat = StreamFilter(rules), []
    for t in tokens:
        w0 = time.perf_counter_ns()
        f.feed(t)
        lat.append(time.perf_counter_ns() - w0)
    return len(tokens) / best, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--rate", type=float, default=50.0, help="tokens/s per stream")
    ap.add_argument("--seconds", type=float, default=10.0, help="paced run length")
    args = ap.parse_args()

    t_load = time.perf_counter()
    rules = shipped_rules()
    load_ms = (time.perf_counter() - t_load) * 1e3
    n_tokens = int(args.seconds * args.rate)
    streams = [synthetic_stream(seed, n_tokens) for seed in range(args.streams)]
    StreamFilter(rules).feed("warm up the normaliser cache 预热")
    r = paced(streams, args.rate, args.seconds, rules)

    us = lambda ns: ns / 1e3  # noqa: E731
    cpu_f, cpu_i = statistics.mean(r["cpu_f"]), statistics.mean(r["cpu_i"])
    p50_f, p99_f = us(pct(r["lat_f"], 0.50)), us(pct(r["lat_f"], 0.99))
    p50_i, p99_i = us(pct(r["lat_i"], 0.50)), us(pct(r["lat_i"], 0.99))
    held = len(r["held_ms"]) + r["still_waiting"]
    tput, warm = unpaced([t for s in streams for t in s], rules)
    rate_total = args.streams * args.rate

    print(
        f"content filter cost: {args.streams} streams x {args.rate:g} tok/s, {r['tokens']} tokens in "
        f"{r['wall']:.1f} s, shipped rules ({len(rules)} rules, loaded in {load_ms:.0f} ms), {r['hits']} mask hits"
    )
    print()
    print(f"{'':28}{'identity':>12}{'filter':>12}{'ratio':>10}")
    print(f"{'CPU per token (µs)':28}{us(cpu_i):12.2f}{us(cpu_f):12.2f}{cpu_f / cpu_i:9.1f}x")
    print(f"{'feed->release p50 (µs)':28}{p50_i:12.2f}{p50_f:12.2f}")
    print(f"{'feed->release p99 (µs)':28}{p99_i:12.2f}{p99_f:12.2f}")
    print()
    print(f"added latency p99 (tokens released at once): {p99_f - p99_i:.1f} µs")
    print(
        f"tokens held back by design (possible phrase/card prefix): {held} of {r['tokens']} "
        f"({100 * held / r['tokens']:.1f}%), released after p50 {pct(r['held_ms'], 0.5):.0f} ms / "
        f"p99 {pct(r['held_ms'], 0.99):.0f} ms ({r['still_waiting']} still held at the end)"
    )
    print(
        f"back-to-back feeds (warm caches, no sleep between ticks): p50 {us(pct(warm, 0.5)):.1f} µs, "
        f"p99 {us(pct(warm, 0.99)):.1f} µs per feed; the paced p99 is the first feeds after each sleep"
    )
    print(
        f"filter CPU at {rate_total:g} tok/s: {100 * rate_total * cpu_f / 1e9:.2f}% of one core; "
        f"unpaced throughput {tput:,.0f} tok/s on one core ({tput / rate_total:,.0f}x the show rate)"
    )


if __name__ == "__main__":
    main()
