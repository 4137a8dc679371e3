"""Scoreboard figures from the results the show state holds (so they follow the event log)."""

from __future__ import annotations

from statistics import median
from typing import Iterable

from core.events import ScoreRow
from core.state import QuestionResult


def _median(values: list[float]) -> float | None:
    return round(median(values), 4) if values else None


def score_rows(contestants: list[str], results: Iterable[dict[str, dict[str, QuestionResult]]]) -> list[ScoreRow]:
    """One row per contestant over the given stages' results, best first (correct, then speed)."""
    per: dict[str, list[QuestionResult]] = {c: [] for c in contestants}
    for stage_results in results:
        for by_contestant in stage_results.values():
            for contestant, result in by_contestant.items():
                per.setdefault(contestant, []).append(result)
    rows = []
    for contestant, rs in per.items():
        correct = sum(1 for r in rs if r.correct)
        graded = sum(1 for r in rs if r.correct is not None)  # debates and dilemmas have no answer key
        rows.append(
            ScoreRow(
                contestant=contestant,
                answered=len(rs),
                correct=correct,
                accuracy=round(correct / graded, 4) if graded else 0.0,
                tokens=sum(r.tokens for r in rs),
                dnf=sum(1 for r in rs if r.status != "done"),
                ttft_median=_median([r.metrics["ttft"] for r in rs if r.metrics.get("ttft") is not None]),
                tpot_median=_median([r.metrics["tpot"] for r in rs if r.metrics.get("tpot") is not None]),
                e2e_median=_median([r.metrics["e2e"] for r in rs if r.metrics.get("e2e") is not None]),
            )
        )
    rows.sort(key=lambda r: (-r.correct, r.e2e_median if r.e2e_median is not None else float("inf")))
    return rows
