"""The end-of-show summary ``gavel demo --summary`` writes (and CI reads)."""

from __future__ import annotations

from typing import Any

from core.state import ShowState

from .scoring import score_rows


def show_summary(state: ShowState, started_at: float | None = None, engine_errors: dict[str, str] | None = None) -> dict[str, Any]:
    ids = [c["id"] for c in state.contestants]
    names = {c["id"]: c["name"] for c in state.contestants}
    rows = score_rows(ids, state.results.values())
    cold_start = None
    if started_at is not None and state.first_token_ts is not None:
        cold_start = round(state.first_token_ts - started_at, 2)
    return {
        "show_id": state.show_id,
        "title": state.title,
        "status": state.status,
        "cold_start_to_first_token_s": cold_start,
        "engine_errors": dict(engine_errors or {}),  # engine -> why it did not start
        # per stage, each contestant's aired answers in order (turns, poems, translations too)
        "stages": [
            {
                "index": s["index"],
                "kind": s["kind"],
                "title": s["title"],
                "status": s["status"],
                "answers": {c: list(texts.values()) for c, texts in state.aired.get(s["index"], {}).items()},
            }
            for s in state.stages
        ],
        "contestants": {
            row.contestant: {
                "name": names.get(row.contestant, row.contestant),
                "questions_answered": row.answered,
                "correct": row.correct,
                "accuracy": row.accuracy,
                "tokens_streamed": row.tokens,
                "dnf": row.dnf,
                "ttft_median_s": row.ttft_median,
                "tpot_median_s": row.tpot_median,
                "e2e_median_s": row.e2e_median,
            }
            for row in rows
        },
    }
