"""What seeing the model think costs: logprobs on the engine, and one attention heatmap.

1. Logprobs: the real vLLM engine (SmolLM2-135M, CPU, float32 eager) answers the same batch of
   prompts (``--streams`` at once, ``--max-tokens`` each, greedy, fixed seed) with top-k logprobs
   (``--top-k``, default 5) and without, in alternating rounds on one engine. Printed: tokens/s of
   each round, the median of each side, and the ratio with/without (1.0 = free).
2. Heatmap: the attention explainer (transformers, eager attention, hooks that fold each layer)
   on a ``--answer-tokens`` answer (default 200) after the chat-template prompt, against a plain
   forward pass over the same tokens with the default (sdpa) attention and no weights kept — the
   least any pass over those tokens costs. Alternating, ``--repeats`` each; median seconds, the
   ratio, and the resident memory the explainer's process gained.

    .venv/bin/python bench/explain_cost.py                 # about 2–3 minutes on 2 cores
    .venv/bin/python bench/explain_cost.py --skip-engine   # the heatmap part only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VLLM_PLUGINS", "")
os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")

PROMPTS = [
    "Write a long story about a lighthouse keeper and the sea.",
    "Explain in detail how a bicycle works, part by part.",
    "Describe a busy market in the morning, with all its sounds.",
    "Tell the history of the printing press in many sentences.",
]
SYSTEM = "You are a quiz contestant. Answer briefly and precisely."


async def engine_round(engine, streams: int, max_tokens: int, top_k: int | None) -> tuple[int, float]:
    from engine_pool.base import GenerationRequest, Sampling

    sampling = Sampling(temperature=0.0, max_tokens=max_tokens, seed=1, logprobs=top_k)

    async def one(i: int) -> int:
        messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
        count = 0
        async for chunk in engine.stream(GenerationRequest(f"b{i}-{time.monotonic_ns()}", messages, sampling)):
            count += chunk.token_count
        return count

    started = time.perf_counter()
    counts = await asyncio.gather(*(one(i) for i in range(streams)))
    return sum(counts), time.perf_counter() - started


async def bench_logprobs(args) -> None:
    from engine_pool.model_files import resolve_model
    from engine_pool.vllm_engine import VllmEngine

    engine = VllmEngine("bench", resolve_model("smollm2-135m-instruct"), kv_cache_gib=0.5)
    await engine.start()
    try:
        await engine_round(engine, args.streams, 8, None)  # warm-up
        rates: dict[str, list[float]] = {"without": [], "with": []}
        for r in range(args.rounds):
            for side, top_k in (("without", None), ("with", args.top_k)) if r % 2 == 0 else (("with", args.top_k), ("without", None)):
                tokens, seconds = await engine_round(engine, args.streams, args.max_tokens, top_k)
                rates[side].append(tokens / seconds)
                print(f"  round {r + 1} {side:>7} logprobs: {tokens} tokens in {seconds:.2f} s = {tokens / seconds:.1f} tok/s")
        without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
        print(
            f"logprobs (top-{args.top_k}), {args.streams} streams × {args.max_tokens} tokens: "
            f"without {without:.1f} tok/s, with {with_:.1f} tok/s, ratio with/without = {with_ / without:.3f}"
        )
    finally:
        await engine.close()


def bench_heatmap(args) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from engine_pool.attention import AttentionExplainer
    from engine_pool.model_files import resolve_model

    model_path = resolve_model("smollm2-135m-instruct")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    explainer = AttentionExplainer(model_path, max_answer_tokens=args.answer_tokens)
    plain = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPTS[0]}]
    words = "The keeper climbed the stairs every night and watched the sea ".split()
    answer = " ".join(words[i % len(words)] for i in range(args.answer_tokens * 2))
    ids, _, _ = explainer._tokens(messages, answer)
    explainer.explain(messages, answer)  # warm-up (first-call allocations)
    with torch.inference_mode():
        plain(torch.tensor([ids]), use_cache=False)
    heat, base = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        amap = explainer.explain(messages, answer)
        heat.append(time.perf_counter() - started)
        started = time.perf_counter()
        with torch.inference_mode():
            plain(torch.tensor([ids]), use_cache=False)
        base.append(time.perf_counter() - started)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    h, b = statistics.median(heat), statistics.median(base)
    print(
        f"heatmap: {amap.answer_tokens}-token answer + {amap.answer_start}-token prompt = {len(ids)} tokens, "
        f"{explainer.layers} layers, torch threads {torch.get_num_threads()}"
    )
    print(f"  heatmap {h:.3f} s, plain forward {b:.3f} s (median of {args.repeats}), ratio heatmap/plain = {h / b:.2f}")
    print(
        f"  peak RSS of this process grew {(rss_after - rss_before) / 1024:.0f} MiB (both models loaded; matrix {amap.matrix.nbytes / 1024:.0f} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=4, help="concurrent requests per round (default 4)")
    parser.add_argument("--max-tokens", type=int, default=96, help="tokens per request (default 96)")
    parser.add_argument("--top-k", type=int, default=5, help="logprobs alternatives per token (default 5)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per side, alternating (default 4)")
    parser.add_argument("--answer-tokens", type=int, default=200, help="heatmap answer length (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="heatmap passes per side (default 5)")
    parser.add_argument("--skip-engine", action="store_true", help="only the heatmap part")
    args = parser.parse_args()
    if not args.skip_engine:
        asyncio.run(bench_logprobs(args))
    bench_heatmap(args)


if __name__ == "__main__":
    main()
