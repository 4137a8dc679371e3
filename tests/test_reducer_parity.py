"""The two reducers — core/state.py (server, snapshots) and overlays/gavel-state.js
(pages) — turn the same events into the same state, for everything the later stages added:
polls, judges, the leaderboard, holds and dumps, debates, subtitles and the image-to-poem."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from core import events as ev
from core.state import ShowState

from .studio_harness import CHROMIUM_ARGS

STATE_JS = Path(__file__).resolve().parent.parent / "overlays" / "gavel-state.js"
KEYS = (
    "answers",
    "polls",
    "current_poll",
    "judged",
    "leaderboard",
    "held",
    "uncertain",
    "debate",
    "subtitles",
    "subtitle_lags",
    "image_poem",
    "attention",
    "training",
)


def step(index: int, text: str) -> ev.PathStep:
    return ev.PathStep(
        index=index,
        text=text,
        logprob=-0.1,
        alternatives=[ev.PathAlternative(text=text, logprob=-0.1), ev.PathAlternative(text="x", logprob=-2.5)],
        margin=0.82,
    )


def _events() -> list[ev.Event]:
    now = time.time()
    contestants = [ev.ContestantInfo(id=c, name=c.title()) for c in ("ada", "bao")]
    choices = [ev.PollChoice(id="ada", label="Ada <b>"), ev.PollChoice(id="bao", label="Bao")]
    row = ev.LeaderboardRow(
        contestant="ada",
        rank=1,
        rating=1010.0,
        elo=1016.0,
        elo_delta=16.0,
        dimensions={"logic": ev.LeaderboardDimension(rating=1010.0, ci_low=990.0, ci_high=1030.0, matches=1)},
    )
    facts = ev.ImageFacts(
        width=4,
        height=3,
        orientation="landscape",
        brightness=0.5,
        brightness_word="mid",
        contrast=0.2,
        contrast_word="soft",
        tone="warm",
        colours=[ev.ImageColour(name="orange", share=0.6)],
    )
    out: list[ev.Event] = [
        ev.ShowOpened(
            data=ev.ShowOpenedData(
                show_id="s", title="T", stages=[ev.StageInfo(index=0, kind="debate", title="D")], contestants=contestants
            )
        ),
        ev.PollOpened(
            data=ev.PollOpenedData(
                poll_id="p1",
                title="Who?",
                kind="choice",
                choices=choices,
                allow_change=False,
                dimension="logic",
                stage=0,
                closes_ts=now + 30,
            )
        ),
        ev.PollTally(data=ev.PollTallyData(poll_id="p1", counts={"ada": 2}, total=2)),
        ev.PollClosed(data=ev.PollClosedData(poll_id="p1", counts={"ada": 3, "bao": 1}, total=4, winner="ada", decided_by="audience")),
        ev.PollRevealed(data=ev.PollRevealedData(poll_id="p1")),
        ev.JudgeScored(
            data=ev.JudgeScoredData(judge="li", target="answer:0:q1:ada", stage=0, item="0:q1", contestant="ada", scores={"logic": 7})
        ),
        ev.Leaderboard(data=ev.LeaderboardData(rows=[row], weights={"logic": 1.0}, matches=1, through_seq=5)),
        ev.DebateStarted(
            data=ev.DebateStartedData(stage=0, debate_id="d", motion="M", sides={"pro": "ada", "con": "bao"}, assigned="random", rounds=2)
        ),
        ev.QuestionAsked(
            data=ev.QuestionAskedData(
                stage=0, number=1, of=2, question_id="d-r1", text="M", kind="debate", time_limit_s=30, deadline_ts=now + 30
            )
        ),
        ev.DebateTurn(
            data=ev.DebateTurnData(
                debate_id="d", round=1, side="pro", contestant="ada", kind="opening", question_id="d-r1", transcript_turns=0
            )
        ),
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="d-r1", contestant="ada", index=1, text="Robots ")),
        ev.AnswerPath(data=ev.AnswerPathData(question_id="d-r1", contestant="ada", steps=[step(1, "Robots ")])),
        ev.AnswerPath(data=ev.AnswerPathData(question_id="d-r1", contestant="bao", steps=[step(1, "No"), step(2, "<b>")])),
        ev.AnswerPath(data=ev.AnswerPathData(question_id="old-q", contestant="bao", steps=[step(1, "stale")])),  # not on screen: ignored
        ev.Attention(data=ev.AttentionData(question_id="d-r1", contestant="ada", status="ready", key="a" * 24, answer_tokens=3)),
        ev.Attention(data=ev.AttentionData(question_id="d-r1", contestant="bao", status="computing", key="b" * 24)),
        ev.Attention(data=ev.AttentionData(question_id="d-r1", contestant="bao", status="failed", key="b" * 24, reason="no weights")),
        ev.SafetyHit(
            data=ev.SafetyHitData(question_id="d-r1", contestant="ada", rule="r", action="hold", kind="phrase", text="x", state="held")
        ),
        ev.SafetyHit(
            data=ev.SafetyHitData(question_id="d-r1", contestant="bao", rule="r", action="hold", kind="phrase", text="y", state="held")
        ),
        ev.SafetyResolved(data=ev.SafetyResolvedData(question_id="d-r1", contestant="bao", decision="approved")),
        ev.AnswerDumped(data=ev.AnswerDumpedData(question_id="d-r1", contestant="ada", reason="dumped by the director")),
        ev.AnswerFairness(
            data=ev.AnswerFairnessData(
                stage=0,
                question_id="d-r1",
                contestant="bao",
                engine="local",
                hardware=ev.HardwareInfo(device="cpu", name="Some <CPU>", count=2),
                sampling=ev.SamplingInfo(temperature=0.0, top_p=1.0, max_tokens=64, seed=0),
                adapter=None,
                queue_wait_s=1.25,
                queue_wait_source="scheduler",
                load_at_start=1,
                load_max=2,
                compared_with=["ada"],
                flagged=True,
                flags=["queue wait 1.25 s"],
            )
        ),
        ev.AnswerFairness(
            data=ev.AnswerFairnessData(  # another question's: not on screen, ignored
                stage=0,
                question_id="old",
                contestant="ada",
                engine="local",
                hardware=ev.HardwareInfo(device="none", name="r", count=0),
                sampling=ev.SamplingInfo(temperature=0.0, top_p=1.0, max_tokens=64, seed=None),
                adapter="lora-a",
                queue_wait_s=None,
                queue_wait_source="none",
                load_at_start=0,
                load_max=0,
                compared_with=[],
                flagged=False,
            )
        ),
        # uncertain verdicts wait in state.uncertain until a second answer.graded decides them
        ev.AnswerGraded(
            data=ev.AnswerGradedData(
                question_id="d-r1",
                contestant="bao",
                correct=None,
                extracted="Robots or <b>",
                expected="Robots",
                reason="hedges: “Robots” next to “or” another answer",
                autodecide_ts=now + 30,
            )
        ),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(
                question_id="old-q", contestant="ada", correct=None, extracted=None, expected="x", reason="no commitment"
            )
        ),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(
                question_id="old-q", contestant="bao", correct=None, extracted=None, expected="x", reason="no commitment"
            )
        ),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(
                question_id="old-q",
                contestant="ada",
                correct=False,
                extracted=None,
                expected="x",
                reason="decided wrong by the director",
                decided_by="director",
            )
        ),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(question_id="old-q", contestant="bao", status="dnf", text="", metrics=ev.AnswerMetrics())
        ),  # a new attempt
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="d-r1", contestant="ada", index=2, text="never ")),  # never shows
        ev.AnswerPath(data=ev.AnswerPathData(question_id="d-r1", contestant="ada", steps=[step(2, "never ")])),  # nor its path
        ev.DebateResult(
            data=ev.DebateResultData(
                stage=0,
                debate_id="d",
                motion="M",
                sides={"pro": "ada", "con": "bao"},
                judges={"ada": 7.0, "bao": None},
                audience={"ada": 3, "bao": 1},
                weights={"judges": 0.0, "audience": 0.5},
                score={"ada": 0.75, "bao": 0.25},
                winner="ada",
                dimension="logic",
            )
        ),
        ev.SubtitleStarted(
            data=ev.SubtitleStartedData(
                stage=1,
                title="Subs",
                source_lang="fr",
                target_lang="en",
                contestants=["ada", "bao"],
                lines_total=2,
                operator=False,
                started_ts=now,
            )
        ),
        ev.SubtitleSource(
            data=ev.SubtitleSourceData(stage=1, line=0, question_id="sub-1-0", t=0.0, text="Bonjour", shown_ts=now, origin="transcript")
        ),
        ev.SubtitleToken(data=ev.SubtitleTokenData(stage=1, line=0, question_id="sub-1-0", contestant="ada", index=1, text="Hel")),
        ev.SubtitleToken(data=ev.SubtitleTokenData(stage=1, line=0, question_id="sub-1-0", contestant="ada", index=2, text="lo")),
        ev.SubtitleTranslated(
            data=ev.SubtitleTranslatedData(
                stage=1,
                line=0,
                question_id="sub-1-0",
                contestant="ada",
                status="done",
                text="Hello",
                lag_s=0.8,
                ttft_lag_s=0.2,
                waited_s=0.0,
                tokens=2,
            )
        ),
        ev.SubtitleTranslated(
            data=ev.SubtitleTranslatedData(
                stage=1,
                line=0,
                question_id="sub-1-0",
                contestant="bao",
                status="timeout",
                reason="slow",
                text="",
                lag_s=None,
                ttft_lag_s=None,
                waited_s=0.1,
                tokens=0,
            )
        ),
        ev.SubtitleToken(
            data=ev.SubtitleTokenData(stage=1, line=5, question_id="sub-1-5", contestant="ada", index=1, text="stray")
        ),  # unknown line: ignored
        ev.SubtitleSummary(
            data=ev.SubtitleSummaryData(
                stage=1,
                rows=[ev.SubtitleLagRow(contestant="ada", lines=1, done=1, dnf=0, lag_median_s=0.8, lag_p90_s=0.8, ttft_lag_median_s=0.2)],
                final=True,
            )
        ),
        ev.ImageShown(
            data=ev.ImageShownData(
                stage=2,
                question_id="poem-2",
                image="data:image/png;base64,AA==",
                source="sea.jpg",
                width=4,
                height=3,
                path="labels",
                paths={"ada": "labels", "bao": "labels"},
                labels=[ev.ImageLabel(label="seashore", p=0.7)],
                facts=facts,
                lines=4,
                rhyme=True,
            )
        ),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(
                question_id="poem-2", contestant="bao", status="done", text="Waves <i>rhyme</i>", metrics=ev.AnswerMetrics()
            )
        ),
        ev.AnswerDumped(data=ev.AnswerDumpedData(question_id="sub-1-0", contestant="ada", reason="dumped by the director")),
        ev.PoemForm(
            data=ev.PoemFormData(
                stage=2,
                question_id="poem-2",
                contestant="ada",
                lines=4,
                lines_asked=4,
                rhyme_asked=True,
                rhyme_pairs=[(1, 2)],
                meets_form=True,
            )
        ),
        ev.PoemForm(
            data=ev.PoemFormData(
                stage=2, question_id="poem-1", contestant="bao", lines=1, lines_asked=4, rhyme_asked=True, rhyme_pairs=[], meets_form=False
            )
        ),  # an older picture's: ignored
    ]
    out += [
        ev.QualificationResult(data=ev.QualificationResultData(contestant="ada", scores={"mmlu": 0.5}, score=0.5, samples=8, report="r")),
        ev.TrainingProgress(
            data=ev.TrainingProgressData(contestant="ada", job="ada-1", kind="sft", step=1, max_steps=4, loss=2.0, eta_s=9.0)
        ),
        ev.TrainingFinished(
            data=ev.TrainingFinishedData(contestant="ada", job="ada-1", kind="sft", status="completed", steps=4, adapter="/a")
        ),
        ev.TrainingProgress(data=ev.TrainingProgressData(contestant="bao", job="bao-1", kind="dpo", step=3, max_steps=5, loss=0.7)),
        ev.TrainingProgress(data=ev.TrainingProgressData(contestant="bao", job="bao-2", kind="sft", step=1, max_steps=2)),  # a new job
    ]
    for seq, event in enumerate(out, start=1):
        event.seq = seq
    return out


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content("<!doctype html><title>reducer</title>")
        page.add_script_tag(content=STATE_JS.read_text())
        yield page
        browser.close()


def test_both_reducers_agree_on_every_event_of_the_later_stages(page):
    events = _events()
    python = ShowState()
    for event in events:
        python.apply(event)
    expected = json.loads(json.dumps({k: python.to_dict()[k] for k in KEYS}))
    wire = [json.loads(e.model_dump_json()) for e in events]
    js = page.evaluate(
        """([events, keys]) => { let s = GavelState.emptyState();
             for (const e of events) s = GavelState.reduce(s, e);
             const snap = GavelState.normalizeState(JSON.parse(JSON.stringify(s)));  // and through a snapshot
             const pick = (x) => Object.fromEntries(keys.map(k => [k, x[k]]));
             return [pick(s), pick(snap)]; }""",
        [wire, list(KEYS)],
    )
    assert js[0] == expected
    assert js[1] == expected
    assert python.answers["ada"].dumped and python.answers["ada"].text == ""  # the dump outlives later tokens
    assert list(python.held) == ["d-r1:ada"]
    assert list(python.uncertain) == ["d-r1:bao"] and python.uncertain["d-r1:bao"]["stage"] == 0
    assert (
        python.answers["bao"].uncertain
        and python.answers["bao"].correct is None
        and python.answers["bao"].grade_reason.startswith("hedges")
    )
    assert python.subtitles["lines"][0]["translations"]["ada"] == {
        **python.subtitles["lines"][0]["translations"]["ada"],
        "text": "",
        "dumped": True,
    }
    assert python.subtitles["lines_total"] == 2 and len(python.subtitles["lines"]) == 1
    assert python.image_poem["poems"] == {"bao": "Waves <i>rhyme</i>"}
    assert [x["status"] for x in python.subtitle_lags["bao"]] == ["timeout"]
    assert list(python.image_poem["forms"]) == ["ada"]
    assert python.answers["ada"].path == [] and [st["text"] for st in python.answers["bao"].path] == ["No", "<b>"]
    assert python.training["ada"]["status"] == "completed" and python.training["ada"]["qualification"]["score"] == 0.5
    assert python.training["bao"]["job"] == "bao-2" and python.training["bao"]["loss"] is None
    assert python.attention == {"d-r1:bao": {**python.attention["d-r1:bao"], "status": "failed"}}  # ada's went with the dump
