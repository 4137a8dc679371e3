"""OpenAIEngine against a real vLLM OpenAI-compatible server (a child process on 127.0.0.1).

The server serves the prepared SmolLM2 folder and one LoRA module, the way a remote contestant
engine would. It takes ~30-60 s to come up on 2 cores; one server serves the whole module.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from engine_pool.base import Adapter, Chunk, Engine, EngineError, GenerationRequest, Sampling  # noqa: E402
from engine_pool.model_files import resolve_model  # noqa: E402
from engine_pool.openai_engine import OpenAIEngine  # noqa: E402

from .conftest import free_port  # noqa: E402
from .engine_contract import CAPITAL, check_top_logprobs, joined, write_lora_adapter  # noqa: E402

MODEL = "smollm2-135m-instruct"
STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]


def _log_tail(path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory):
    return write_lora_adapter(tmp_path_factory.mktemp("lora"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, lora_dir):
    model_dir = resolve_model(MODEL)
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    env = dict(os.environ, VLLM_PLUGINS="", VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_NUM_OF_RESERVED_CPU="0")
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--served-model-name", MODEL,
        "--dtype", "float32",
        "--enforce-eager",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-model-len", "2048",
        "--enable-lora",
        "--max-lora-rank", "16",
        "--lora-modules", f"contestant-1={lora_dir}",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        # Own session: the server's engine-core and worker children are stopped with it.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM server exited with {process.returncode}:\n{_log_tail(log_path)}")
            try:
                if httpx.get(f"{base_url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up after 180 s:\n{_log_tail(log_path)}")
            time.sleep(1)
        yield base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def run(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def collect(base_url: str, request: GenerationRequest, model: str = MODEL) -> list[Chunk]:
    engine = OpenAIEngine("remote", base_url, model)
    try:
        return [chunk async for chunk in engine.stream(request)]
    finally:
        await engine.close()


async def requests_in_flight(base_url: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base_url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(("vllm:num_requests_running{", "vllm:num_requests_waiting{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_start_and_health(server):
    async def go():
        engine = OpenAIEngine("remote", server + "/v1/", MODEL)  # a /v1 suffix is accepted too
        assert isinstance(engine, Engine)
        await engine.start()
        await engine.start()
        assert await engine.healthy()
        assert set(await engine.served_models()) >= {MODEL, "contestant-1"}
        await engine.close()
        await engine.close()

        wrong = OpenAIEngine("remote", server, "not-served")
        with pytest.raises(EngineError, match="does not serve model 'not-served'"):
            await wrong.start()
        await wrong.close()

    run(go())


def test_greedy_answer_streams_in_chunks(server):
    chunks = run(collect(server, GenerationRequest("capital", CAPITAL, Sampling(max_tokens=32))))
    assert len(chunks) >= 3
    assert "Paris" in joined(chunks)
    assert all(chunk.top_logprobs is None for chunk in chunks)


def test_token_count_matches_the_servers_usage(server):
    """Streamed counts (with the final usage correction) equal the server's own count."""
    sampling = Sampling(max_tokens=32)
    chunks = run(collect(server, GenerationRequest("count", CAPITAL, sampling)))
    response = httpx.post(
        f"{server}/v1/chat/completions",
        json={"model": MODEL, "messages": CAPITAL, "max_tokens": 32, "temperature": 0.0, "seed": 0},
        timeout=60,
    )
    usage = response.json()["usage"]
    assert sum(chunk.token_count for chunk in chunks) == usage["completion_tokens"]
    assert joined(chunks) == response.json()["choices"][0]["message"]["content"]


def test_max_tokens_and_seed(server):
    chunks = run(collect(server, GenerationRequest("short", STORY, Sampling(max_tokens=5))))
    assert sum(chunk.token_count for chunk in chunks) == 5

    sampled = Sampling(max_tokens=24, temperature=0.9, top_p=0.95, seed=7)
    first = run(collect(server, GenerationRequest("s1", STORY, sampled)))
    second = run(collect(server, GenerationRequest("s2", STORY, sampled)))
    assert joined(first) and joined(first) == joined(second)


def test_stop_string(server):
    chunks = run(collect(server, GenerationRequest("stop", CAPITAL, Sampling(max_tokens=32, stop=(" Paris",)))))
    assert joined(chunks) and "Paris" not in joined(chunks)


def test_top_logprobs_per_token(server):
    chunks = run(collect(server, GenerationRequest("lp", CAPITAL, Sampling(max_tokens=16, logprobs=5))))
    check_top_logprobs(chunks, 5)  # the usage-correction chunk carries no logprobs


def test_adapter_is_served_by_name(server, lora_dir):
    adapter = Adapter("contestant-1", str(lora_dir), 1)
    base = joined(run(collect(server, GenerationRequest("base", CAPITAL, Sampling(max_tokens=20)))))
    tuned = joined(run(collect(server, GenerationRequest("tuned", CAPITAL, Sampling(max_tokens=20), adapter))))
    assert tuned and tuned != base

    unknown = Adapter("contestant-404", str(lora_dir), 2)
    with pytest.raises(EngineError, match=r"/v1/chat/completions returned HTTP 404"):
        run(collect(server, GenerationRequest("unknown", CAPITAL, Sampling(max_tokens=8), unknown)))


def test_walking_away_aborts_on_the_server(server):
    async def go():
        engine = OpenAIEngine("remote", server, MODEL)
        seen = 0
        async for _chunk in engine.stream(GenerationRequest("walk-away", STORY, Sampling(max_tokens=400))):
            seen += 1
            if seen == 3:
                break
        # The abandoned generator is closed by the loop's async-generator finalizer, which closes
        # the HTTP stream; vLLM notices the disconnect and aborts the request.
        deadline = time.monotonic() + 10
        while await requests_in_flight(server):
            assert time.monotonic() < deadline, "the server kept generating for a gone client"
            await asyncio.sleep(0.1)
        after = [chunk async for chunk in engine.stream(GenerationRequest("after", CAPITAL, Sampling(max_tokens=32)))]
        await engine.close()
        return after

    assert "Paris" in joined(run(go()))


def test_unreachable_server_is_an_engine_error():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def go():
        engine = OpenAIEngine("gone", url, MODEL, timeout_s=5)
        assert not await engine.healthy()
        with pytest.raises(EngineError, match=rf"POST {url}/v1/chat/completions failed: ConnectError"):
            async for _chunk in engine.stream(GenerationRequest("x", CAPITAL)):
                pass
        with pytest.raises(EngineError, match=rf"GET {url}/v1/models failed"):
            await engine.start()
        await engine.close()

    run(go())
