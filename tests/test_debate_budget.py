"""The debate's prompt budget, proven with the real tokenizer and chat template: whatever the
persona, the language and the transcript, the prompt the engine receives (persona merged in as
the engine pool does it, the assistant's header added) never has more tokens than the stage's
``context_tokens``; and a script whose persona and instructions alone cannot fit is refused by
``gavel check``, naming the line, instead of airing a DNF on every turn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from transformers import AutoTokenizer

from core.locale import Messages
from core.stage_specs import DebateStageSpec
from engine_pool.model_files import resolve_model
from engine_pool.pool import with_persona
from stages.debate import Said, debate_prompt, fixed_prompt_bound, turn_order

from .fault_kit import write_replay_show
from .studio_harness import subprocess_env

REPO = Path(__file__).resolve().parent.parent
PERSONAS = {
    "none": "",
    "en": "You are Cato, a sharp debater from Leeds who quotes Cicero and never concedes a point. " * 3,
    "zh": "你是道，一位说话温和却寸步不让的辩手，喜欢引用《论语》，回答总是先立论再举例。" * 3,
}
TURNS = [
    "Robots never sleep, so the news never sleeps either; that is the whole point.",
    "机器人写新闻会让记者失业，这是一个必须正视的社会问题。",
    "🤖📰 emojis, URLs like https://example.com/a?b=c and numbers 3.14159 all count 😀😀😀",
    "word " * 120,
    "汉字" * 150,
]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))


def _tokens(tokenizer, messages: list[dict]) -> int:
    return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("persona", sorted(PERSONAS))
@pytest.mark.parametrize("context_tokens", [800, 1200, 4096])
def test_the_prompt_the_engine_gets_never_exceeds_the_budget(tokenizer, locale, persona, context_tokens):
    t = Messages(locale).t
    motion = "机器人应该写新闻 / robots should write the news"
    spec = DebateStageSpec(kind="debate", title="d", motion=motion, rounds=4, context_tokens=context_tokens)
    assert fixed_prompt_bound(t, spec, PERSONAS[persona]) <= context_tokens  # a script gavel check passes
    said: list[Said] = []
    for i, turn in enumerate(turn_order(spec.rounds)):
        messages, kept = debate_prompt(t, spec, PERSONAS[persona], turn, said)
        real = _tokens(tokenizer, with_persona(PERSONAS[persona], messages))
        assert real <= context_tokens, (turn, kept, real)
        if context_tokens == 800 and i == len(turn_order(spec.rounds)) - 1:
            assert kept < len(said)  # the small budget did trim: the bound was tested where it binds
        said.append(Said(turn.side, TURNS[i % len(TURNS)]))


def test_the_fixed_bound_is_what_an_empty_debate_needs(tokenizer):
    """The bound gavel check uses covers the real first prompt with the longest omitted-turns note."""
    t = Messages("zh-CN").t
    spec = DebateStageSpec(kind="debate", title="d", motion="火锅比烧烤更适合冬天", rounds=4, context_tokens=4096)
    fixed = fixed_prompt_bound(t, spec, PERSONAS["zh"])
    for turn in turn_order(spec.rounds):
        messages, _ = debate_prompt(t, spec, PERSONAS["zh"], turn, [])
        assert _tokens(tokenizer, with_persona(PERSONAS["zh"], messages)) <= fixed


def test_gavel_check_refuses_a_debate_whose_persona_and_instructions_cannot_fit(tmp_path):
    script = tmp_path / "show" / "show.yaml"
    path = write_replay_show(tmp_path / "show")
    data = yaml.safe_load(path.read_text())
    data["contestants"][1]["system_prompt"] = PERSONAS["en"] * 2
    data["stages"] = [{"kind": "debate", "title": "Debate", "motion": "Robots should write the news", "context_tokens": 600}]
    script.write_text(yaml.safe_dump(data, sort_keys=False, width=10_000))
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", "check", str(script)], cwd=REPO, env=subprocess_env(), capture_output=True, text=True
    )
    assert result.returncode != 0
    line = next(n for n, text in enumerate(script.read_text().splitlines(), 1) if "context_tokens" in text)
    persona_line = next(n for n, text in enumerate(script.read_text().splitlines(), 1) if "system_prompt" in text)
    assert f"{script}:{line}: stages[0].context_tokens: 600 cannot hold bao's system prompt (line {persona_line})" in result.stderr
    assert "ada" not in result.stderr  # ada's default prompt fits

    data["stages"][0]["context_tokens"] = 1024
    script.write_text(yaml.safe_dump(data, sort_keys=False, width=10_000))
    ok = subprocess.run(
        [sys.executable, "-m", "studio.cli", "check", str(script)], cwd=REPO, env=subprocess_env(), capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
