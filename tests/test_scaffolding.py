"""No prompt scaffolding airs: a label before the answer is dropped from the stream, whatever the
chunking, and nothing that could be an answer is held back or lost."""

from __future__ import annotations

import pytest
import yaml
from playwright.sync_api import sync_playwright

from engine_pool.base import Chunk
from stages.generation_path import PathTracer
from stages.scaffolding import LeadTrim, prompt_lines
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import CHROMIUM_ARGS, LiveStudio


def stream(chunks: list[str], echoes: list[str] = ()) -> str:
    trim = LeadTrim(list(echoes))
    return "".join(trim.feed(c) for c in chunks) + trim.finish()


@pytest.mark.parametrize(
    ("chunks", "aired"),
    [
        (["Answer: 42"], "42"),
        (["Ans", "wer", ":", " Paris."], "Paris."),
        (["Your rebuttal:", " Cars carry nurses."], "Cars carry nurses."),
        (["Opening statement: ", "Consider the evidence."], "Consider the evidence."),
        (["**Rebuttal:**", " No."], "No."),
        (["\n", "Translation: Good evening."], "Good evening."),
        (["English: ", "Good", " evening"], "Good evening"),
        (["答：", "北京"], "北京"),
        (["回答：一锤定音！5。"], "一锤定音！5。"),
        (["正方：", "请看事实。"], "请看事实。"),
        (["Rebuttal:"], ""),  # a label with nothing after it airs nothing
    ],
)
def test_a_label_before_the_answer_is_dropped(chunks, aired):
    assert stream(chunks) == aired


@pytest.mark.parametrize(
    "chunks",
    [
        ["A: Brussels"],  # a choice letter is an answer
        ["The answer is 42."],
        ["Answers vary: ", "some say 4."],
        ["Po", "etry is hard."],
        ["Paris"],
        ["Po"],  # held while it could become "Poem:", released at the end
        ["答应你的事，我会做到。"],
        ["Gavel time! 8."],
        ["  ", "Closing the door is kind."],
    ],
)
def test_an_answer_that_is_not_a_label_airs_whole(chunks):
    assert stream(chunks) == "".join(chunks)


PROMPT = [
    {"role": "system", "content": "You are Dao, an honest and kind contestant."},
    {
        "role": "user",
        "content": "Write a poem of exactly 4 lines about this picture.\nAn image classifier sees: seashore (12%), beacon (9%).\nWrite only the poem.",
    },
]


@pytest.mark.parametrize(
    ("chunks", "aired"),
    [
        (
            ["An image classifier ", "sees: seashore (12%), beacon (9%).", "\nWaves fold gold into the sea."],
            "Waves fold gold into the sea.",
        ),
        (["Write a poem of exactly 4 lines about this picture.\n", "Write only the poem.\n", "Poem: Gold."], "Gold."),
        (["An image of a beach at dusk."], "An image of a beach at dusk."),  # its own sentence: not an echo
        (["Write a poem of exactly 4 lines about the same pict", "ure.\nSun on the sea."], "Sun on the sea."),  # restated
        (["You are Dao"], "You are Dao"),  # part of a line, then the end: released
    ],
)
def test_a_prompt_line_repeated_before_the_answer_is_dropped(chunks, aired):
    assert stream(chunks, prompt_lines(PROMPT)) == aired


ZH_PROMPT = [
    {
        "role": "user",
        "content": "道德困境：你在空无一人的街上捡到一个钱包，里面有现金和身份证，没有人看见你。你会怎么做？\n该怎么做？为什么？",
    }
]


@pytest.mark.parametrize(
    ("chunks", "aired"),
    [
        # The dilemma restated, then garbled: a Chinese sentence that starts with eight characters of
        # the prompt is the prompt said back, however it ends.
        (["道德困境：你在空无一人", "的街上，隐被没有人看见。", "\n我会把钱包交给警察。"], "我会把钱包交给警察。"),
        (["道德困境很难。我会把钱包交给警察。"], "道德困境很难。我会把钱包交给警察。"),  # four characters alike: its own words
    ],
)
def test_a_chinese_prompt_restated_before_the_answer_is_dropped(chunks, aired):
    assert stream(chunks, prompt_lines(ZH_PROMPT)) == aired


def test_a_persona_said_back_before_the_answer_is_dropped():
    persona = [{"role": "system", "content": "你是道，一位诚实善良的选手：先给出明确的决定，再说一个理由。请用中文简短回答。"}]
    assert stream(["你是道，", "一位诚实善良的", "选手。我会交还钱包。"], prompt_lines([*persona, *ZH_PROMPT])) == "我会交还钱包。"


def test_an_answer_that_ends_inside_its_persona_airs_nothing():
    """The token limit cut the echo short ("你是道，一位诚实善良的选手" aired in the Chinese episode):
    all of it was the prompt said back. An answer that goes on in its own words still airs."""
    persona = [{"role": "system", "content": "你是道，一位诚实善良的选手：先给出明确的决定，再说一个理由。请用中文简短回答。"}]
    lines = prompt_lines([*persona, *ZH_PROMPT])
    assert stream(["你是道，", "一位诚实善良的", "选手"], lines) == ""
    assert stream(["你是道，", "一位诚实善良的", "选手，"], lines) == ""
    assert stream(["你是道，一位诚实善良的", "选手，我会交还钱包"], lines) == "你是道，一位诚实善良的选手，我会交还钱包"


def test_a_sentence_of_the_persona_said_first_is_dropped_with_what_joins_it_to_the_answer():
    """Cato said the persona's last sentence, an instruction, before answering (Chinese episode)."""
    persona = [{"role": "system", "content": "你是卡托，一位自信的辩手：用事实说话，用一句有力的话收尾。请用中文简短回答。"}]
    lines = prompt_lines([*persona, *ZH_PROMPT])
    assert "请用中文简短回答" in lines
    assert stream(["请用中文", "简短回答：", "机器人写不了新闻。"], lines) == "机器人写不了新闻。"
    assert (
        stream(["Please answer briefly: ", "Paris."], prompt_lines([{"role": "system", "content": "You are Ada. Please answer briefly."}]))
        == "Paris."
    )
    # A sentence too short to be an instruction is left alone.
    assert (
        stream(["一锤定音！", "北京。"], prompt_lines([{"role": "system", "content": "先喊“一锤定音！”，再说答案。"}]))
        == "一锤定音！北京。"
    )


def test_only_the_prompts_own_lines_of_some_length_count_as_echoes():
    lines = prompt_lines([*PROMPT, {"role": "assistant", "content": "An earlier turn of my own, long enough."}])
    assert "Write only the poem." in lines and "An earlier turn of my own, long enough." not in lines
    assert all(len(line) >= 16 for line in lines)


def test_text_is_held_only_while_it_could_be_a_label():
    trim = LeadTrim()
    assert trim.feed("Ans") == ""
    assert trim.feed("ible") == "Ansible"  # no longer a label: released at once, nothing lost
    assert trim.feed(" rocks") == " rocks"


def test_the_generation_path_lines_up_with_the_answer_after_a_dropped_label():
    tracer, trim = PathTracer(), LeadTrim()
    aired, steps = "", []
    tokens = [("Answer", -0.1), (":", -0.1), (" Par", -0.2), ("is", -0.3)]
    for n, (text, logprob) in enumerate(tokens, start=1):
        tracer.on_chunk(Chunk(text, 1, top_logprobs=[{text: logprob, "x": -3.0}], sampled=[(text, logprob)]), n)
        out = trim.feed(text)
        if trim.trimmed:
            tracer.drop_lead(len(trim.trimmed))
            trim.trimmed = ""
        aired += out
        steps += tracer.on_release(out)
    assert aired == "Paris"
    assert [(s.index, s.text) for s in steps] == [(3, "Par"), (4, "is")]  # the label's tokens get no step


RECORDING = {
    "answers": [
        {"contestant": "ada", "match": "capital of France", "tokens": ["Answer", ":", " Par", "is"]},
        {"contestant": "bao", "match": "capital of France", "tokens": ["What is the capital", " of France?"]},
        {
            "contestant": "cy",
            "match": "capital of France",
            "tokens": ["You are Cy, a quiz ", "champion who answers in one word.", " Paris"],
        },
        {"contestant": "dee", "match": "capital of France", "tokens": [" ", "\n"]},  # nothing visible at all
    ]
}


def test_on_air_a_label_or_a_persona_is_dropped_and_an_answer_that_only_repeats_its_prompt_is_a_dnf(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump(RECORDING))
    (tmp_path / "bank.yaml").write_text(
        yaml.safe_dump(
            {"name": "b", "questions": [{"id": "q1", "question": "What is the capital of France?", "kind": "exact", "answer": "Paris"}]}
        )
    )
    (tmp_path / "show.yaml").write_text(
        """
show: {id: echo, title: Echo}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 50}
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape, system_prompt: You are Bao.}
  - {id: cy, name: Cy, engine: tape, system_prompt: "You are Cy, a quiz champion who answers in one word."}
  - {id: dee, name: Dee, engine: tape, system_prompt: "You are Dee."}
stages:
  - {kind: speed_qa, bank: bank.yaml, questions: 1}
"""
    )
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        thread.join(timeout=60)
        # On air, the box of the answer that aired nothing says why (never an empty box).
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{live.base}/overlays/program.html?token={live.graphics_token}")
            boxes = page.get_by_test_id("answer-text-bao")
            boxes.wait_for(state="attached", timeout=30_000)
            page.wait_for_function("() => document.querySelector('[data-testid=answer-text-cy]')?.textContent === 'Paris'", timeout=30_000)
            bao_box, dee_box = boxes.text_content(), page.get_by_test_id("answer-text-dee").text_content()
            browser.close()
    assert bao_box == "DNF · it only repeated its instructions" and dee_box == "DNF · it gave no answer"
    finals = {e["data"]["contestant"]: e["data"] for e in program.of_type("answer.finished")}
    assert finals["ada"]["status"] == "done" and finals["ada"]["text"] == "Paris"
    assert finals["bao"]["status"] == "dnf" and finals["bao"]["reason"] == "it only repeated its instructions"
    assert finals["dee"]["status"] == "dnf" and finals["dee"]["reason"] == "it gave no answer"
    aired = "".join(e["data"]["text"] for e in program.of_type("answer.token"))
    assert finals["cy"]["status"] == "done" and finals["cy"]["text"] == "Paris"  # its own persona, said back, did not air
    assert "Answer" not in aired and "What is the capital" not in aired and "You are Cy" not in aired
