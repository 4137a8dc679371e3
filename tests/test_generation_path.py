"""The generation path follows what aired, never what the model said: steps come only for text the
content filter released, masked the way it aired, and an alternative that would complete a
filtered phrase is masked too. The shipped English rules carry the test placeholders "forbidden
phrase" (mask), "secret launch code" (cut) and "classified dossier" (hold)."""

from __future__ import annotations

import asyncio
import math

from engine_pool.base import Chunk
from safety.rules import shipped_rules
from safety.stream_filter import MASK
from stages.generation_path import PathTracer
from studio.show.safety_desk import SafetyDesk


def chunk(*tokens: tuple[str, float, dict[str, float]]) -> Chunk:
    """One engine chunk of (token, its logprob, alternatives)."""
    return Chunk("".join(t for t, _, _ in tokens), len(tokens), [alts for _, _, alts in tokens], [(t, lp) for t, lp, _ in tokens])


def greedy(text: str, runner_up: str = "~", gap: float = 1.0) -> tuple[str, float, dict[str, float]]:
    return text, -0.2, {text: -0.2, runner_up: -0.2 - gap}


async def stream(tokens: list[tuple[str, float, dict[str, float]]], desk: SafetyDesk | None = None, approve: bool | None = None):
    """Feed the tokens one chunk each through a real AnswerGuard (when a desk is given), as
    stages/answering.py does; returns (aired text, path steps)."""
    aired, steps = [], []
    tracer = PathTracer(desk.would_filter if desk else None)

    async def emit(text: str, _tokens: int) -> None:
        aired.append(text)
        steps.extend(tracer.on_release(text))

    guard = desk.guard("q1", "ada", emit) if desk else None
    for n, token in enumerate(tokens, start=1):
        c = chunk(token)
        tracer.on_chunk(c, n)
        await (guard.feed(c.text, n) if guard else emit(c.text, n))
    if guard:
        if approve is not None:

            async def decide():
                while guard.filter.pending_hold is None:
                    await asyncio.sleep(0.01)
                await guard.resolve(approve)

            await asyncio.gather(guard.finish(), decide())
        else:
            await guard.finish()
    return "".join(aired), steps


def desk() -> SafetyDesk:
    async def publish(*_args, **_kwargs) -> None:
        return None

    return SafetyDesk(shipped_rules(), publish, hold_timeout_s=5)


def test_every_released_token_gets_one_step_in_order_with_its_margin():
    tokens = [greedy("The"), greedy(" answer", " result", gap=0.05), greedy(" is"), greedy(" 42", " 24", gap=2.0), greedy(".")]
    aired, steps = asyncio.run(stream(tokens, desk()))
    assert aired == "The answer is 42."
    assert [s.index for s in steps] == [1, 2, 3, 4, 5]
    assert "".join(s.text for s in steps) == aired
    close = steps[1]
    assert [a.text for a in close.alternatives] == [" answer", " result"]  # best first
    assert math.isclose(close.margin, math.exp(-0.2) - math.exp(-0.25), rel_tol=1e-9)
    assert steps[3].margin > close.margin  # a clear choice has the bigger margin


def test_a_sampled_token_below_the_best_alternative_has_a_negative_margin():
    _, steps = asyncio.run(stream([(" cat", -1.5, {" dog": -0.3, " cat": -1.5})]))
    assert steps[0].margin < 0 and steps[0].alternatives[0].text == " dog"


def test_masked_text_shows_masked_in_the_path_too():
    tokens = [greedy("A"), greedy(" forbidden"), greedy(" phrase"), greedy(" here"), greedy(".")]
    aired, steps = asyncio.run(stream(tokens, desk()))
    assert "forbidden" not in aired and MASK in aired
    joined = "".join(s.text for s in steps)
    assert joined == aired
    assert all("forbidden" not in s.text and "phrase" not in s.text for s in steps)


def test_an_alternative_that_would_complete_a_filtered_phrase_is_masked():
    # The model said "forbidden fruit", but " phrase" was its runner-up after "forbidden".
    tokens = [greedy("The"), greedy(" forbidden"), greedy(" fruit", " phrase", gap=0.1), greedy(".")]
    aired, steps = asyncio.run(stream(tokens, desk()))
    assert aired == "The forbidden fruit."
    fruit = steps[2]
    assert [a.text for a in fruit.alternatives] == [" fruit", MASK * len(" phrase")]
    # alone, the same alternative is harmless
    plain = asyncio.run(stream([greedy("The"), greedy(" tasty"), greedy(" fruit", " phrase", gap=0.1)], desk()))[1]
    assert [a.text for a in plain[2].alternatives] == [" fruit", " phrase"]


def test_text_held_then_rejected_never_gets_a_step_and_cut_text_neither():
    held = [greedy("See"), greedy(" the"), greedy(" classified"), greedy(" dossier"), greedy(" now")]
    aired, steps = asyncio.run(stream(held, desk(), approve=False))
    assert "classified" not in aired
    # a token only partly aired (the space before the held words) gets no step
    assert aired.startswith("".join(s.text for s in steps)) and [s.text for s in steps] == ["See", " the"]
    assert all("dossier" not in s.text for s in steps)

    cut = [greedy("The"), greedy(" secret"), greedy(" launch"), greedy(" code"), greedy(" is")]
    aired, steps = "", []
    try:
        aired, steps = asyncio.run(stream(cut, desk()))
    except Exception as exc:  # the guard stops the answer (StopAnswer) once the filter cuts
        assert "withheld" in str(exc)
    assert all("secret" not in s.text and "launch" not in s.text for s in steps)


def test_a_special_token_the_text_leaves_out_keeps_the_path_aligned():
    tracer = PathTracer()
    tracer.on_chunk(chunk(greedy("Hi")), 1)
    tracer.on_chunk(Chunk("", 1, [{"<|im_end|>": -0.01}], [("<|im_end|>", -0.01)]), 2)
    steps = tracer.on_release("Hi")
    assert [(s.index, s.text) for s in steps] == [(1, "Hi"), (2, "")]
