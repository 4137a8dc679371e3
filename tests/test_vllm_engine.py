"""VllmEngine on the real vLLM CPU engine with SmolLM2-135M-Instruct.

One engine for the whole module (it takes ~30 s to start on 2 cores). Its frontend lives on an
event loop, so the module keeps one loop of its own and runs every test's coroutine on it, rather
than a fresh ``asyncio.run`` per test. The engine is started with LoRA enabled, as the show runs it
(one base model, an adapter per contestant).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from engine_pool.base import Adapter, Chunk, Engine, EngineError, GenerationRequest, Sampling  # noqa: E402
from engine_pool.model_files import resolve_model  # noqa: E402
from engine_pool.pool import EnginePool, Route  # noqa: E402
from engine_pool.vllm_engine import VllmEngine  # noqa: E402

from .engine_contract import CAPITAL, check_top_logprobs, joined, write_lora_adapter  # noqa: E402

STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]


class Loop:
    """One event loop for the module: the engine's output handler runs on it between tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, coro, timeout: float = 120):
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@pytest.fixture(scope="module")
def run():
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def engine(run):
    engine = VllmEngine("smollm2", resolve_model("smollm2-135m-instruct"), kv_cache_gib=1, enable_lora=True)
    run(engine.start(), timeout=300)
    yield engine
    run(engine.close())


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> Adapter:
    return Adapter("contestant-1", str(write_lora_adapter(tmp_path_factory.mktemp("lora"))), 1)


async def collect(engine: VllmEngine, request: GenerationRequest) -> list[Chunk]:
    return [chunk async for chunk in engine.stream(request)]


async def wait_idle(engine: VllmEngine, within_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while engine.unfinished_requests:
        assert asyncio.get_running_loop().time() < deadline, "the engine kept generating for a gone consumer"
        await asyncio.sleep(0.02)


def test_is_an_engine(engine, run):
    assert isinstance(engine, Engine)
    assert run(engine.healthy())
    run(engine.start())  # idempotent: no second engine


def test_greedy_answer_streams_in_chunks(engine, run):
    chunks = run(collect(engine, GenerationRequest("capital", CAPITAL, Sampling(max_tokens=32))))
    assert len(chunks) >= 3
    assert "Paris" in joined(chunks)
    assert all(chunk.token_count >= 0 and chunk.top_logprobs is None for chunk in chunks)
    assert 0 < sum(chunk.token_count for chunk in chunks) <= 32


def test_same_seed_same_text(engine, run):
    greedy = Sampling(max_tokens=24, temperature=0.0, seed=3)
    first = run(collect(engine, GenerationRequest("g1", STORY, greedy)))
    second = run(collect(engine, GenerationRequest("g2", STORY, greedy)))
    assert joined(first) and joined(first) == joined(second)

    sampled = Sampling(max_tokens=24, temperature=0.9, top_p=0.95, seed=7)
    third = run(collect(engine, GenerationRequest("s1", STORY, sampled)))
    fourth = run(collect(engine, GenerationRequest("s2", STORY, sampled)))
    assert joined(third) == joined(fourth)


def test_max_tokens_is_honoured(engine, run):
    chunks = run(collect(engine, GenerationRequest("short", STORY, Sampling(max_tokens=5))))
    assert sum(chunk.token_count for chunk in chunks) == 5
    assert joined(chunks)


def test_stop_string_ends_the_answer(engine, run):
    chunks = run(collect(engine, GenerationRequest("stop", CAPITAL, Sampling(max_tokens=32, stop=(" Paris",)))))
    text = joined(chunks)
    assert text and "Paris" not in text


def test_breaking_out_aborts_the_request(engine, run):
    async def go():
        seen = 0
        async for _chunk in engine.stream(GenerationRequest("walk-away", STORY, Sampling(max_tokens=400))):
            seen += 1
            if seen == 2:
                break
        await wait_idle(engine)
        return await collect(engine, GenerationRequest("after-break", CAPITAL, Sampling(max_tokens=32)))

    assert "Paris" in joined(run(go()))


def test_cancelling_the_consumer_aborts_the_request(engine, run):
    async def go():
        first_chunk = asyncio.Event()

        async def consume():
            request = GenerationRequest("cancel-me", STORY, Sampling(max_tokens=400))
            async with contextlib.aclosing(engine.stream(request)) as chunks:
                async for _chunk in chunks:
                    first_chunk.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first_chunk.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_idle(engine)
        return await collect(engine, GenerationRequest("after-cancel", CAPITAL, Sampling(max_tokens=32)))

    assert "Paris" in joined(run(go()))
    assert run(engine.healthy())


def test_two_concurrent_streams(engine, run):
    async def go():
        return await asyncio.gather(
            collect(engine, GenerationRequest("left", CAPITAL, Sampling(max_tokens=32))),
            collect(engine, GenerationRequest("right", STORY, Sampling(max_tokens=32))),
        )

    left, right = run(go())
    assert "Paris" in joined(left)
    assert sum(chunk.token_count for chunk in right) == 32


def test_the_pool_records_the_schedulers_queue_wait_and_the_load(engine, run):
    """The fairness record on vLLM: the queue wait is the scheduler's own (submission -> first
    scheduled), never more than the TTFT; two answers at once each ran beside the other."""
    pool = EnginePool({"smollm2": engine}, {"ada": Route("smollm2"), "bao": Route("smollm2")})

    async def go():
        sampling = Sampling(max_tokens=16, seed=3)
        return await asyncio.gather(*(pool.answer(c, CAPITAL, sampling, time_limit_s=60) for c in ("ada", "bao")))

    for answer in run(go()):
        c = answer.conditions
        assert answer.status == "done" and c.engine == "smollm2" and c.sampling.seed == 3
        assert c.queue_wait_source == "scheduler"
        assert 0 <= c.queue_wait_s <= answer.metrics.ttft
        assert c.load_max == 1
        assert c.hardware.device == "cpu" and c.hardware.name and c.hardware.count >= 1
    assert pool.in_flight("smollm2") == 0


def test_cancelling_one_of_two_streams_with_the_same_id_spares_the_other(engine, run):
    """The pool may send one question id to two contestants on one engine."""

    async def go():
        kept = asyncio.create_task(collect(engine, GenerationRequest("q7", STORY, Sampling(max_tokens=24))))
        async for _chunk in engine.stream(GenerationRequest("q7", STORY, Sampling(max_tokens=400))):
            break
        return await kept

    assert sum(chunk.token_count for chunk in run(go())) == 24


def test_top_logprobs_per_token(engine, run):
    chunks = run(collect(engine, GenerationRequest("lp", CAPITAL, Sampling(max_tokens=16, logprobs=5))))
    assert chunks and all(chunk.top_logprobs is not None for chunk in chunks)  # every chunk, on vLLM
    check_top_logprobs(chunks, 5)


def test_lora_adapter_changes_answers_and_base_keeps_its_own(engine, run, adapter):
    base = joined(run(collect(engine, GenerationRequest("base-1", CAPITAL, Sampling(max_tokens=20)))))
    tuned = joined(run(collect(engine, GenerationRequest("lora-1", CAPITAL, Sampling(max_tokens=20), adapter))))
    again = joined(run(collect(engine, GenerationRequest("base-2", CAPITAL, Sampling(max_tokens=20)))))
    assert tuned and tuned != base
    assert again == base


def test_bad_adapter_fails_one_request_not_the_engine(engine, run, tmp_path):
    missing = Adapter("ghost", str(tmp_path / "no-adapter-here"), 99)
    with pytest.raises(EngineError, match="ghost"):
        run(collect(engine, GenerationRequest("ghost", CAPITAL, Sampling(max_tokens=8), missing)))
    assert run(engine.healthy())
    assert "Paris" in joined(run(collect(engine, GenerationRequest("after-ghost", CAPITAL, Sampling(max_tokens=32)))))


def test_prompt_too_long_is_an_engine_error(engine, run):
    huge = [{"role": "user", "content": "word " * 3000}]
    with pytest.raises(EngineError, match="maximum context length"):
        run(collect(engine, GenerationRequest("huge", huge, Sampling(max_tokens=8))))
    assert run(engine.healthy())


def test_adapter_on_an_engine_without_lora_is_refused(run):
    # Never started: the check needs no model, so no second engine runs beside the module's.
    plain = VllmEngine("plain", resolve_model("smollm2-135m-instruct"))
    with pytest.raises(EngineError, match="enable_lora"):
        run(collect(plain, GenerationRequest("x", CAPITAL, adapter=Adapter("a", "/nowhere", 1))))
    with pytest.raises(EngineError, match="not started"):
        run(collect(plain, GenerationRequest("x", CAPITAL)))
    assert not run(plain.healthy())
    run(plain.close())
    with pytest.raises(EngineError, match="closed"):
        run(plain.start())


def test_close_ends_running_streams_and_is_final(engine, run):
    """Last in the module: it closes the shared engine (the fixture's close is then a no-op)."""

    async def go():
        first_chunk = asyncio.Event()

        async def consume():
            async for _chunk in engine.stream(GenerationRequest("on-air", STORY, Sampling(max_tokens=400))):
                first_chunk.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first_chunk.wait(), 30)
        await engine.close()
        # A stream cut off by close() ends with an error at once; it neither hangs nor looks finished.
        with pytest.raises(EngineError, match="closing"):
            await asyncio.wait_for(task, 10)

    run(go())
    run(engine.close())
    assert not run(engine.healthy())
    assert engine.unfinished_requests == 0
    with pytest.raises(EngineError):
        run(collect(engine, GenerationRequest("late", CAPITAL)))
