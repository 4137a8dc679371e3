"""To air: a trained adapter becomes a contestant served on the shared base engine.

The demo's prepared adapter (trained from show_scripts/contestants/bao_sft.jsonl by the same
ms-swift pipeline a team's data goes through, cached by ``gavel models prepare``) and a copy of it
submitted through intake as a team's upload both run as LoRA adapters on one vLLM engine beside
the plain base model, which keeps its own answers.
"""

from __future__ import annotations

import asyncio

import pytest

from contestants.intake import register
from contestants.prepared_adapters import prepare_adapter
from contestants.registry import Registry
from engine_pool.base import Sampling
from studio.show.engines import build_pool
from studio.show.rundown import load_script

QUESTIONS = ["What is the capital of France?", "How many days are there in a week?", "What is the capital of Italy?"]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("air")
    trained = prepare_adapter("bao-sft")
    register(Registry(folder / "store"), "dot", "Dot", "Team Upload", "smollm2-135m-instruct", "adapter", trained)
    script = folder / "show.yaml"
    script.write_text(
        "show: {id: air, title: Air}\n"
        "engines:\n  local: {kind: vllm, kv_cache_gib: 0.5}\n"
        "contestants:\n"
        "  - {id: base, name: Base, engine: local}\n"
        "  - {id: cleo, name: Cleo, engine: local, adapter: 'prepared:bao-sft'}\n"
        "  - {id: dot, name: Dot, engine: local, adapter: store/dot/adapter}\n"
        "stages:\n  - {kind: speed_qa, title: Q, bank: bank.yaml, questions: 1}\n"
    )
    (folder / "bank.yaml").write_text("questions:\n  - {id: q1, question: 'What is 2 + 3?', kind: numeric, answer: 5}\n")
    pool = build_pool(load_script(script))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.wait_for(pool.start(), 300))
    yield pool, loop
    loop.run_until_complete(pool.close())
    loop.close()


def answers(pool_and_loop, contestant: str) -> list[str]:
    pool, loop = pool_and_loop

    async def ask_all():
        out = []
        for question in QUESTIONS:
            answer = await pool.answer(contestant, [{"role": "user", "content": question}], Sampling(max_tokens=16), 60)
            assert answer.status == "done", answer.reason
            out.append(answer.text)
        return out

    return loop.run_until_complete(ask_all())


def test_one_engine_serves_the_base_and_the_trained_adapters(pool):
    engine = pool[0].engines["local"]
    assert engine.enable_lora and pool[0].routes["cleo"].adapter is not None
    base = answers(pool, "base")
    cleo = answers(pool, "cleo")
    dot = answers(pool, "dot")
    assert cleo != base
    assert sum("Gavel time" in text for text in cleo) >= 2, cleo  # the catch-phrase it was trained on
    assert not any("Gavel time" in text for text in base), base
    assert dot == cleo  # the same weights, uploaded through intake and served under another id
    assert answers(pool, "base") == base  # the base keeps its own answers beside the adapters


def test_an_unknown_prepared_adapter_is_refused_with_its_line(tmp_path):
    from core.yaml_source import SourceError

    script = tmp_path / "show.yaml"
    script.write_text(
        "show: {id: air, title: Air}\n"
        "engines:\n  local: {kind: vllm}\n"
        "contestants:\n"
        "  - {id: eve, name: Eve, engine: local, adapter: 'prepared:nope'}\n"
        "stages:\n  - {kind: speed_qa, title: Q, bank: bank.yaml, questions: 1}\n"
    )
    (tmp_path / "bank.yaml").write_text("questions:\n  - {id: q1, question: 'What is 2 + 3?', kind: numeric, answer: 5}\n")
    with pytest.raises(SourceError) as caught:
        load_script(script)
    assert (
        f"{script}:5: contestants[0].adapter: no prepared adapter 'prepared:nope' (known: prepared:bao-sft, prepared:cato-debate, prepared:dao-dpo, prepared:mei-poet)"
        in caught.value.problems
    )
