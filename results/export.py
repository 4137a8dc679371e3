"""``gavel export``: a show's results, from its event log, as JSON and CSV files.

Everything comes from the director channel (every event is on it), folded in log order:

- ``answers.csv`` — one row per answer (stage, question, contestant, status, text, tokens, TTFT,
  TPOT, e2e) with its grade (correct, extracted, expected, grade_reason, decided_by) where it was
  graded; correct is empty for an uncertain verdict nobody decided. A question asked again after a
  crash keeps its last answers, as the scoreboard does.
- ``judges.csv`` — one row per judge, answer and criterion.
- ``votes.csv`` — one row per poll and choice with its final count (the audience's polls as closed).
- ``leaderboard.csv`` — the last leaderboard: rank, headline rating, Elo, and per dimension the
  Bradley–Terry rating, its 95 % interval and the matches it rests on.
- ``fairness.csv`` — the fairness record of every answer (engine, hardware, sampling, queue wait,
  load, flags).
- ``results.json`` — all of it, plus the show's id, title and status.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from core import events as ev

ANSWER_FIELDS = [
    "stage",
    "question_id",
    "question",
    "contestant",
    "status",
    "reason",
    "text",
    "output_tokens",
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "correct",
    "extracted",
    "expected",
    "grade_reason",
    "decided_by",
]
JUDGE_FIELDS = ["judge", "target", "stage", "item", "contestant", "criterion", "score"]
VOTE_FIELDS = ["poll_id", "title", "kind", "dimension", "stage", "choice", "label", "votes", "total", "winner", "decided_by"]
FAIRNESS_FIELDS = [
    "stage",
    "question_id",
    "contestant",
    "engine",
    "device",
    "hardware",
    "device_count",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "adapter",
    "queue_wait_s",
    "queue_wait_source",
    "load_at_start",
    "load_max",
    "compared_with",
    "flagged",
    "flags",
]


def show_results(events: list[ev.Event]) -> dict[str, Any]:
    show: dict[str, Any] = {"show_id": "", "title": "", "status": "idle"}
    questions: dict[str, dict] = {}  # question id -> the question as last asked
    answers: dict[tuple[int, str, str], dict] = {}
    judges: list[dict] = []
    polls: dict[str, dict] = {}
    closed: dict[str, ev.PollClosedData] = {}
    fairness: list[dict] = []
    leaderboard: ev.LeaderboardData | None = None
    stage = 0
    for event in events:
        data = event.data
        match event:
            case ev.ShowOpened():
                show.update(show_id=data.show_id, title=data.title)
            case ev.ShowStatus():
                show["status"] = data.status
            case ev.StageStarted():
                stage = data.index
            case ev.QuestionAsked():
                questions[data.question_id] = {"stage": data.stage, "text": data.text}
                for key in [k for k in answers if k[:2] == (data.stage, data.question_id)]:
                    del answers[key]  # asked again (after a restart): the new answers count
            case ev.AnswerFinished():
                asked = questions.get(data.question_id, {"stage": stage, "text": ""})
                m = data.metrics
                answers[(asked["stage"], data.question_id, data.contestant)] = {
                    "stage": asked["stage"],
                    "question_id": data.question_id,
                    "question": asked["text"],
                    "contestant": data.contestant,
                    "status": data.status,
                    "reason": data.reason,
                    "text": data.text,
                    "output_tokens": m.output_tokens,
                    "ttft_s": m.ttft,
                    "tpot_s": m.tpot,
                    "e2e_s": m.e2e,
                    "correct": None,
                    "extracted": None,
                    "expected": None,
                    "grade_reason": None,
                    "decided_by": None,
                }
            case ev.AnswerGraded():
                asked = questions.get(data.question_id, {"stage": stage})
                row = answers.get((asked["stage"], data.question_id, data.contestant))
                if row is not None:
                    row.update(
                        correct=data.correct,
                        extracted=data.extracted,
                        expected=data.expected,
                        grade_reason=data.reason,
                        decided_by=data.decided_by,
                    )
            case ev.JudgeScored():
                for criterion, score in data.scores.items():
                    judges.append(
                        {
                            "judge": data.judge,
                            "target": data.target,
                            "stage": data.stage,
                            "item": data.item,
                            "contestant": data.contestant,
                            "criterion": criterion,
                            "score": score,
                        }
                    )
            case ev.PollOpened():
                polls[data.poll_id] = data.model_dump()
            case ev.PollClosed():
                closed[data.poll_id] = data
            case ev.Leaderboard():
                leaderboard = data
            case ev.AnswerFairness():
                fairness.append(_fairness_row(data))
    return {
        "show": show,
        "answers": list(answers.values()),
        "judges": judges,
        "votes": _vote_rows(polls, closed),
        "leaderboard": leaderboard.model_dump() if leaderboard else None,
        "fairness": fairness,
    }


def _fairness_row(d: ev.AnswerFairnessData) -> dict:
    return {
        "stage": d.stage,
        "question_id": d.question_id,
        "contestant": d.contestant,
        "engine": d.engine,
        "device": d.hardware.device,
        "hardware": d.hardware.name,
        "device_count": d.hardware.count,
        "temperature": d.sampling.temperature,
        "top_p": d.sampling.top_p,
        "max_tokens": d.sampling.max_tokens,
        "seed": d.sampling.seed,
        "adapter": d.adapter,
        "queue_wait_s": d.queue_wait_s,
        "queue_wait_source": d.queue_wait_source,
        "load_at_start": d.load_at_start,
        "load_max": d.load_max,
        "compared_with": " ".join(d.compared_with),
        "flagged": d.flagged,
        "flags": "; ".join(d.flags),
    }


def _vote_rows(polls: dict[str, dict], closed: dict[str, ev.PollClosedData]) -> list[dict]:
    rows = []
    for poll_id, result in closed.items():
        poll = polls.get(poll_id, {})
        for choice in poll.get("choices", []) or [{"id": c, "label": c} for c in result.counts]:
            rows.append(
                {
                    "poll_id": poll_id,
                    "title": poll.get("title", ""),
                    "kind": poll.get("kind", ""),
                    "dimension": poll.get("dimension"),
                    "stage": poll.get("stage"),
                    "choice": choice["id"],
                    "label": choice["label"],
                    "votes": result.counts.get(choice["id"], 0),
                    "total": result.total,
                    "winner": result.winner,
                    "decided_by": result.decided_by,
                }
            )
    return rows


def _leaderboard_rows(board: dict | None) -> tuple[list[str], list[dict]]:
    if not board:
        return ["rank", "contestant", "rating", "elo"], []
    dimensions = sorted({d for row in board["rows"] for d in row["dimensions"]})
    fields = ["rank", "contestant", "rating", "elo"] + [
        f"{d}_{part}" for d in dimensions for part in ("rating", "ci_low", "ci_high", "matches")
    ]
    rows = []
    for row in board["rows"]:
        out = {"rank": row["rank"], "contestant": row["contestant"], "rating": row["rating"], "elo": row["elo"]}
        for d, figures in row["dimensions"].items():
            out.update({f"{d}_{part}": figures[part] for part in ("rating", "ci_low", "ci_high", "matches")})
        rows.append(out)
    return fields, rows


def write_results(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """results.json and one CSV per table in ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json"]
    written[0].write_text(json.dumps(results, indent=2, ensure_ascii=False))
    board_fields, board_rows = _leaderboard_rows(results["leaderboard"])
    tables = {
        "answers": (ANSWER_FIELDS, results["answers"]),
        "judges": (JUDGE_FIELDS, results["judges"]),
        "votes": (VOTE_FIELDS, results["votes"]),
        "leaderboard": (board_fields, board_rows),
        "fairness": (FAIRNESS_FIELDS, results["fairness"]),
    }
    for name, (fields, rows) in tables.items():
        path = out_dir / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written
