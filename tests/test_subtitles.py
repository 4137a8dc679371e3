"""Live subtitles: transcripts checked at file:line; with the replay engine (exact, fast) lines
are released at their times, every contestant's subtitles stay in line order, a slow contestant's
lag grows and is reported, a timed-out line is a DNF with its reason, operator lines and pauses
work; and once end to end on the real vLLM engine with the demo model."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from core import events as ev
from core.state import ShowState
from core.yaml_source import SourceError
from stages.base import StageContext
from stages.subtitles import SubtitlesStage, load_transcript, operator_feed, p90
from studio.server.runtime import Studio
from studio.show.engines import build_pool
from studio.show.rundown import load_script, script_classifier, script_rules
from studio.show.safety_desk import SafetyDesk

from .studio_harness import LiveStudio

TOLERANCE_S = 0.12  # scheduling slack on a busy 2-core machine


# -- (a) the transcript file -------------------------------------------------------------------------


def test_transcript_problems_name_file_and_line(tmp_path):
    path = tmp_path / "speech.yaml"
    path.write_text(
        "- {t: 0, text: Good evening.}\n"  # 1
        "- {t: 2.5, text: Welcome.}\n"  # 2
        "- {t: 1.0, text: Too early.}\n"  # 3: goes backwards
        "- t: 3\n"  # 4
        "  text: '   '\n"  # 5: blank
        "- {t: soon, text: x}\n"  # 6: not a number
        "- {t: 4}\n"  # 7: no text
    )
    with pytest.raises(SourceError) as err:
        load_transcript(path)
    problems = err.value.problems
    assert any(p.startswith(f"{path}:5: [3].text:") and "blank" in p for p in problems), problems
    assert any(p.startswith(f"{path}:6: [4].t:") and "number" in p for p in problems), problems
    assert any(p.startswith(f"{path}:7: [5].text:") and "required" in p.lower() for p in problems), problems

    path.write_text("lines:\n  - {t: 0, text: One.}\n  - {t: 2, text: Two.}\n  - {t: 1.5, text: Three.}\n")
    with pytest.raises(SourceError) as err:
        load_transcript(path)
    assert err.value.problems == [f"{path}:4: lines[2].t: 1.5 is before the previous line's 2 (times must not go backwards)"]

    path.write_text("[]\n")
    with pytest.raises(SourceError, match=r"speech\.yaml:1: a transcript is a non-empty list"):
        load_transcript(path)

    path.write_text('[{"t": 0, "text": "JSON works too."}, {"t": 0, "text": "Same time is fine."}]')
    assert [line.text for line in load_transcript(path)] == ["JSON works too.", "Same time is fine."]


def _show(
    tmp: Path,
    stage: str,
    engines: str = "  tape: {kind: replay, file: tape.yaml, tokens_per_s: 100}\n",
    contestants: str = "  - {id: ada, name: Ada, engine: tape}\n",
) -> Path:
    (tmp / "show.yaml").write_text(
        f"show: {{id: subs, title: Subtitles, autopilot_pause_s: 0}}\nengines:\n{engines}contestants:\n{contestants}stages:\n{stage}"
    )
    return tmp / "show.yaml"


def test_a_broken_transcript_or_spec_is_reported_through_the_script(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": ["x"]}]}))
    (tmp_path / "speech.yaml").write_text("- {t: 1, text: One.}\n- {t: 0, text: Two.}\n")
    with pytest.raises(SourceError) as err:
        load_script(_show(tmp_path, "  - kind: subtitles\n    transcript: speech.yaml\n"))
    assert err.value.problems[0] == f"{tmp_path / 'show.yaml'}:8: stages[0].transcript: cannot use 'speech.yaml':"
    assert err.value.problems[1].strip().startswith(f"{tmp_path / 'speech.yaml'}:2: [1].t: 0 is before")

    with pytest.raises(SourceError) as err:
        load_script(_show(tmp_path, "  - kind: subtitles\n    title: Nothing to say\n"))
    assert "needs a transcript file, operator: true, or both" in str(err.value)
    with pytest.raises(SourceError) as err:
        load_script(_show(tmp_path, "  - kind: subtitles\n    operator: true\n    prompt: 'Translate {text}'\n"))
    assert ":9: stages[0].prompt:" in str(err.value) and "unknown placeholder(s) text" in str(err.value)


def test_p90_is_nearest_rank():
    assert p90([]) is None
    assert p90([3.0]) == 3.0
    assert p90([float(i) for i in range(1, 11)]) == 9.0
    assert p90([1.0, 2.0, 3.0, 4.0]) == 4.0


# -- (b) the replay engine: exact timing and order -------------------------------------------------------

LINES = [
    (0.0, "[L0] Good evening."),
    (0.3, "[L1] Tonight, the news."),
    (0.6, "[L2] First, the weather."),
    (0.9, "[L3] A long one."),
    (1.0, "[L4] Goodbye."),
]
TIME_LIMIT_S = 1.5
PROMPT = "Prev: {previous}\nLine: {line}\nIn {target_lang}:"


def _recording() -> dict:
    answers = []
    for i in range(len(LINES)):
        answers.append({"contestant": "ada", "match": f"Line: [L{i}]", "tokens": [f"A{i}a ", f"A{i}b ", f"A{i}c"]})
        slow = 40 if i == 3 else 6  # 6 tokens at 10/s: 0.6 s a line, longer than the 0.3 s between lines
        answers.append({"contestant": "bao", "match": f"Line: [L{i}]", "tokens": [f"B{i}-{k} " for k in range(slow)]})
    return {"answers": answers}


class Harness:
    """A stage context over a real pool, the real content filter and a recording publish."""

    def __init__(self, script):
        self.script = script
        self.events: list[ev.Event] = []
        self.state = ShowState()
        self.not_paused = asyncio.Event()
        self.not_paused.set()
        self.pool = build_pool(script)
        safety = SafetyDesk(script_rules(script), self.publish, script.safety.hold_timeout_s, script_classifier(script))
        self.ctx = StageContext(
            index=0,
            spec=script.stages[0],
            script=script,
            pool=self.pool,
            state=self.state,
            publish=self.publish,
            wait_if_paused=self.not_paused.wait,
            clock=time.time,
            safety=safety,
        )

    async def publish(self, event: ev.Event, channels=ev.ON_AIR) -> None:
        event.seq = len(self.events) + 1
        self.events.append(event)
        self.state.apply(event)

    def of(self, cls) -> list:
        return [e.data for e in self.events if isinstance(e, cls)]


async def _play(harness: Harness) -> None:
    await harness.pool.start()
    try:
        await SubtitlesStage().run(harness.ctx)
    finally:
        await harness.pool.close()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("subs")
    (tmp / "tape.yaml").write_text(yaml.safe_dump(_recording()))
    (tmp / "speech.yaml").write_text(yaml.safe_dump([{"t": t, "text": text} for t, text in LINES]))
    script = load_script(
        _show(
            tmp,
            f"  - kind: subtitles\n    transcript: speech.yaml\n    source_lang: English\n    target_lang: French\n"
            f"    time_limit_s: {TIME_LIMIT_S}\n    prompt: '{PROMPT}'\n    sampling: {{max_tokens: 64}}\n",
            engines="  fast: {kind: replay, file: tape.yaml, tokens_per_s: 100}\n  slow: {kind: replay, file: tape.yaml, tokens_per_s: 10}\n",
            contestants="  - {id: ada, name: Ada, engine: fast}\n  - {id: bao, name: Bao, engine: slow}\n",
        )
    )
    harness = Harness(script)
    started = time.monotonic()
    asyncio.run(_play(harness))
    harness.wall_s = time.monotonic() - started
    return harness


def test_lines_are_released_in_order_at_their_times(replayed):
    start = replayed.of(ev.SubtitleStarted)[0]
    assert (start.source_lang, start.target_lang, start.lines_total, start.contestants) == ("English", "French", 5, ["ada", "bao"])
    sources = replayed.of(ev.SubtitleSource)
    assert [(s.line, s.t, s.text, s.origin) for s in sources] == [(i, t, text, "transcript") for i, (t, text) in enumerate(LINES)]
    assert [s.question_id for s in sources] == [f"sub-0-{i}" for i in range(len(LINES))]
    for s in sources:
        assert abs((s.shown_ts - start.started_ts) - s.t) < TOLERANCE_S, (s.line, s.shown_ts - start.started_ts)
    for a, b in zip(sources, sources[1:]):
        assert abs((b.shown_ts - a.shown_ts) - (b.t - a.t)) < TOLERANCE_S


def test_every_contestants_subtitles_arrive_in_line_order(replayed):
    for who in ("ada", "bao"):
        finished = [d for d in replayed.of(ev.SubtitleTranslated) if d.contestant == who]
        assert [d.line for d in finished] == list(range(len(LINES)))
        token_lines = [d.line for d in replayed.of(ev.SubtitleToken) if d.contestant == who]
        assert token_lines == sorted(token_lines)  # never a token of line n+1 before line n is over
        for d in finished:
            streamed = "".join(t.text for t in replayed.of(ev.SubtitleToken) if t.contestant == who and t.line == d.line)
            assert d.text == streamed and d.question_id == f"sub-0-{d.line}"
    # A line is shown before anyone's subtitle of it, and each finished line follows its tokens.
    order = [(type(e).__name__, e.data.line) for e in replayed.events if isinstance(e, (ev.SubtitleSource, ev.SubtitleToken))]
    for i in range(len(LINES)):
        assert order.index(("SubtitleSource", i)) < order.index(("SubtitleToken", i))
    ada = [d for d in replayed.of(ev.SubtitleTranslated) if d.contestant == "ada"]
    assert [d.text for d in ada] == [f"A{i}a A{i}b A{i}c" for i in range(len(LINES))]
    assert all(d.status == "done" and d.lag_s < 0.3 and d.ttft_lag_s <= d.lag_s for d in ada)


def test_a_slow_contestants_lag_grows_and_is_reported(replayed):
    bao = {d.line: d for d in replayed.of(ev.SubtitleTranslated) if d.contestant == "bao"}
    lags = [bao[i].lag_s for i in (0, 1, 2)]
    assert all(d.status == "done" for i, d in bao.items() if i != 3)
    assert lags[0] == pytest.approx(0.6, abs=0.2)  # 6 tokens at 10/s
    # 0.6 s of work every 0.3 s: each line waits for the one before, so the lag grows (~+0.3 s a line)
    assert lags[1] - lags[0] > 0.15 and lags[2] - lags[1] > 0.15
    shown = {s.line: s.shown_ts for s in replayed.of(ev.SubtitleSource)}
    for i in (1, 2):  # line i starts when line i-1 ends: its wait is the previous lag minus the gap
        assert bao[i].waited_s == pytest.approx(bao[i - 1].lag_s - (shown[i] - shown[i - 1]), abs=0.06)
    # line 4 starts when line 3 runs out of time
    assert bao[4].waited_s == pytest.approx(shown[3] + bao[3].waited_s + TIME_LIMIT_S - shown[4], abs=0.06)
    assert bao[4].lag_s > lags[2] + TIME_LIMIT_S - TOLERANCE_S  # the timed-out line held it up too
    summary = replayed.of(ev.SubtitleSummary)
    assert summary[-1].final and not any(s.final for s in summary[:-1])
    rows = {r.contestant: r for r in summary[-1].rows}
    done_lags = sorted(bao[i].lag_s for i in (0, 1, 2, 4))
    assert (rows["bao"].lines, rows["bao"].done, rows["bao"].dnf) == (5, 4, 1)
    assert rows["bao"].lag_median_s == pytest.approx((done_lags[1] + done_lags[2]) / 2, abs=1e-3)
    assert rows["bao"].lag_p90_s == done_lags[-1]
    assert (rows["ada"].done, rows["ada"].dnf) == (5, 0) and rows["ada"].lag_median_s < rows["bao"].lag_median_s
    assert rows["ada"].ttft_lag_median_s < rows["bao"].ttft_lag_median_s


def test_a_timed_out_line_is_a_dnf_with_the_reason(replayed):
    line = next(d for d in replayed.of(ev.SubtitleTranslated) if d.contestant == "bao" and d.line == 3)
    assert line.status == "timeout" and line.reason == f"no complete answer within {TIME_LIMIT_S:g}s"
    assert line.lag_s is None and line.ttft_lag_s is not None and line.text.startswith("B3-0 B3-1")
    assert len(line.text.split()) < 40
    assert replayed.wall_s < 10


def test_operator_lines_are_shown_as_they_come_and_the_operator_ends_the_stage(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"match": "hello", "tokens": ["bon", "jour"]}, {"tokens": ["?"]}]}))
    script = load_script(_show(tmp_path, "  - kind: subtitles\n    operator: true\n    target_lang: French\n    operator_idle_s: 30\n"))
    harness = Harness(script)

    async def scenario():
        await harness.pool.start()
        stage = asyncio.create_task(SubtitlesStage().run(harness.ctx))
        while (feed := operator_feed(harness.state, 0)) is None:
            await asyncio.sleep(0.01)
        assert await feed.submit("") == (False, False, "text: the line to show (non-empty)")
        assert await feed.submit("  hello there  ") == (True, True, "")
        refused = await feed.submit("Please tell me the forbidden phrase")
        assert refused[:2] == (False, False) and "content filter" in refused[2]
        await asyncio.sleep(0.2)
        harness.not_paused.clear()  # the director pauses: a typed line waits
        assert (await feed.submit("a second line"))[0]
        await asyncio.sleep(0.3)
        assert len(harness.of(ev.SubtitleSource)) == 1
        harness.not_paused.set()
        assert await feed.submit(end=True) == (True, True, "no more operator lines")
        assert (await feed.submit("too late"))[0] is False
        await asyncio.wait_for(stage, 10)
        assert operator_feed(harness.state, 0) is None
        await harness.pool.close()

    asyncio.run(scenario())
    sources = harness.of(ev.SubtitleSource)
    assert [(s.text, s.origin) for s in sources] == [("hello there", "operator"), ("a second line", "operator")]
    assert sources[1].t >= 0.45  # shown after the pause, not when typed
    assert harness.of(ev.SubtitleStarted)[0].lines_total is None
    done = harness.of(ev.SubtitleTranslated)
    assert [(d.line, d.text, d.status) for d in done] == [(0, "bonjour", "done"), (1, "?", "done")]
    refused = harness.of(ev.InputRefused)
    assert refused and refused[0].source == "subtitle line (operator)"


def test_a_quiet_operator_ends_the_stage_and_a_pause_shifts_the_transcript(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": ["ok"]}]}))
    (tmp_path / "speech.yaml").write_text("- {t: 0.1, text: One.}\n- {t: 0.3, text: Two.}\n")
    script = load_script(
        _show(tmp_path, "  - kind: subtitles\n    transcript: speech.yaml\n    operator: true\n    operator_idle_s: 0.4\n")
    )
    harness = Harness(script)
    harness.not_paused.clear()  # paused when line 0 comes due

    async def scenario():
        await harness.pool.start()
        stage = asyncio.create_task(SubtitlesStage().run(harness.ctx))
        await asyncio.sleep(0.6)
        harness.not_paused.set()
        await asyncio.wait_for(stage, 10)  # no end command: the operator's silence ends it
        await harness.pool.close()

    began = time.monotonic()
    asyncio.run(scenario())
    start = harness.of(ev.SubtitleStarted)[0]
    one, two = harness.of(ev.SubtitleSource)
    assert one.shown_ts - start.started_ts == pytest.approx(0.6, abs=TOLERANCE_S)
    assert two.shown_ts - one.shown_ts == pytest.approx(0.2, abs=TOLERANCE_S)  # the speech's spacing is kept
    assert time.monotonic() - began < 0.6 + 0.2 + 0.4 + 1.0
    assert harness.of(ev.SubtitleSummary)[-1].final


def test_a_skipped_stage_ends_the_lines_in_flight_as_cancelled(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": [f"w{i} " for i in range(50)]}]}))
    (tmp_path / "speech.yaml").write_text("- {t: 0, text: One.}\n- {t: 0.05, text: Two.}\n")
    script = load_script(
        _show(
            tmp_path,
            "  - kind: subtitles\n    transcript: speech.yaml\n",
            engines="  tape: {kind: replay, file: tape.yaml, tokens_per_s: 20}\n",
        )
    )
    harness = Harness(script)

    async def scenario():
        await harness.pool.start()
        stage = asyncio.create_task(SubtitlesStage().run(harness.ctx))
        await asyncio.sleep(0.4)
        stage.cancel()
        await asyncio.gather(stage, return_exceptions=True)
        await harness.pool.close()

    asyncio.run(scenario())
    ended = harness.of(ev.SubtitleTranslated)
    assert [(d.line, d.status, d.reason) for d in ended] == [(0, "cancelled", "stopped by the director")]
    assert ended[0].text.startswith("w0 w1")
    assert not harness.of(ev.SubtitleSummary)


# -- (c) end to end on the real vLLM engine (CPU) with the demo model -----------------------------------


def test_subtitles_stream_live_on_vllm_with_lag_reported(tmp_path):
    (tmp_path / "speech.yaml").write_text("- {t: 0, text: Good evening and welcome.}\n- {t: 1.5, text: The weather is sunny today.}\n")
    script = load_script(
        _show(
            tmp_path,
            "  - kind: subtitles\n    transcript: speech.yaml\n    target_lang: French\n    time_limit_s: 60\n"
            "    sampling: {temperature: 0, max_tokens: 24, seed: 1}\n",
            engines="  local: {kind: vllm, model: smollm2-135m-instruct, dtype: float32, enforce_eager: true, max_model_len: 512, kv_cache_gib: 0.5}\n",
            contestants="  - {id: ada, name: Ada, engine: local}\n  - {id: bao, name: Bao, engine: local}\n",
        )
    )
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        thread.join(timeout=240)
    assert program.error is None, program.error
    sources = [e["data"] for e in program.of_type("subtitle.source")]
    assert [s["line"] for s in sources] == [0, 1]
    translated = [e["data"] for e in program.of_type("subtitle.translated")]
    assert sorted((d["contestant"], d["line"]) for d in translated) == [("ada", 0), ("ada", 1), ("bao", 0), ("bao", 1)]
    for d in translated:
        assert d["status"] == "done", d
        assert d["text"] and 0 < d["ttft_lag_s"] <= d["lag_s"] < 60
        tokens = [
            e["data"]
            for e in program.of_type("subtitle.token")
            if (e["data"]["contestant"], e["data"]["line"]) == (d["contestant"], d["line"])
        ]
        assert len(tokens) >= 2 and "".join(t["text"] for t in tokens) == d["text"]  # streamed, not dumped at once
        assert d["tokens"] <= 24
    final = program.of_type("subtitle.summary")[-1]["data"]
    assert final["final"] and {r["contestant"] for r in final["rows"]} == {"ada", "bao"}
    assert all(r["done"] == 2 and r["lag_median_s"] > 0 and r["lag_p90_s"] >= r["lag_median_s"] for r in final["rows"])
