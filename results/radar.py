"""The contestants' radar: every axis, its source and its normalisation, in one place.

Each axis maps a raw figure to 0..1, higher is better, on a fixed scale (not relative to the other
contestants, so a contestant's shape does not change because someone else joined). An axis the
show has not measured yet for a contestant is ``None`` and drawn at 0 with "n/a" on hover.

| axis            | raw figure                                               | 0 at        | 1 at        |
|-----------------|----------------------------------------------------------|-------------|-------------|
| TTFT            | median time to first token over answers (s)              | >= 2.0 s    | 0 s         |
| Throughput      | 1 / median TPOT (tokens/s)                               | 0 tok/s     | >= 50 tok/s |
| Accuracy        | graded answers correct / answered (speed Q&A, surprise)  | 0 %         | 100 %       |
| Creativity      | leaderboard Bradley–Terry rating, creativity dimension   | <= 800      | >= 1200     |
| Logic           | … logic dimension (debate results, judges' logic scores) | <= 800      | >= 1200     |
| Values          | … values dimension (values arena verdicts, judges)       | <= 800      | >= 1200     |
| Translation lag | median lag of finished subtitle translations (s)         | >= 5.0 s    | 0 s         |

Ratings come from ``state.leaderboard`` (results/leaderboard.py: judges, audience verdicts,
debates); a dimension with no matches for a contestant is n/a. The figure is built with plotly in
Python and drawn on air by plotly.js served from the plotly package (``/vendor/plotly.min.js``).
The axes' names on air (and "n/a") are the show's language: ``radar.axis.*`` in its message table
(core/locale.py); the keys of ``radar_values`` stay the English names above.
"""

from __future__ import annotations

from statistics import median
from typing import Any

import plotly.graph_objects as go

from core.locale import LOCALES, ON_AIR_FONT, Messages
from core.state import ShowState

from .scoring import score_rows

AXES = ("TTFT", "Throughput", "Accuracy", "Creativity", "Logic", "Values", "Translation lag")
TTFT_WORST_S = 2.0
THROUGHPUT_BEST_TPS = 50.0
RATING_RANGE = (800.0, 1200.0)  # Elo-like scale: ±200 around the anchor spans the axis
LAG_WORST_S = 5.0
RATED_AXES = {"Creativity": "creativity", "Logic": "logic", "Values": "values"}
AXIS_KEYS = {axis: "radar.axis." + axis.lower().replace(" ", "_") for axis in AXES}  # the message table's
PALETTE = ("#39c0ff", "#ff4f9a", "#ffd24a", "#42e08a", "#b48cff", "#ff8c42")


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _rated(state: ShowState, contestant: str, dimension: str) -> float | None:
    rows = (state.leaderboard or {}).get("rows", [])
    row = next((r for r in rows if r["contestant"] == contestant), None)
    dim = (row or {}).get("dimensions", {}).get(dimension)
    if not dim or not dim.get("matches"):
        return None
    low, high = RATING_RANGE
    return _clamp((dim["rating"] - low) / (high - low))


def _translation_lag(state: ShowState, contestant: str) -> float | None:
    lags = [line["lag_s"] for line in getattr(state, "subtitle_lags", {}).get(contestant, []) if line.get("lag_s") is not None]
    return None if not lags else _clamp(1 - median(lags) / LAG_WORST_S)


def radar_values(state: ShowState) -> dict[str, dict[str, float | None]]:
    """contestant id -> axis -> 0..1, or None where the show has not measured it yet."""
    ids = [c["id"] for c in state.contestants]
    out: dict[str, dict[str, float | None]] = {}
    for row in score_rows(ids, state.results.values()):
        graded = sum(1 for qs in state.results.values() for per in qs.values() if (r := per.get(row.contestant)) and r.correct is not None)
        out[row.contestant] = {
            "TTFT": None if row.ttft_median is None else _clamp(1 - row.ttft_median / TTFT_WORST_S),
            "Throughput": None if not row.tpot_median else _clamp((1 / row.tpot_median) / THROUGHPUT_BEST_TPS),
            "Accuracy": row.accuracy if graded else None,
            **{axis: _rated(state, row.contestant, dim) for axis, dim in RATED_AXES.items()},
            "Translation lag": _translation_lag(state, row.contestant),
        }
    return out


def radar_figure(state: ShowState, messages: Messages | None = None) -> dict[str, Any]:
    """The figure in ``messages``' language (default: the show's, from its ``show.opened``)."""
    if messages is None:
        messages = Messages(state.locale if state.locale in LOCALES else "en")
    theta = [messages.t(AXIS_KEYS[a]) for a in AXES]
    na = messages.t("radar.na")
    names = {c["id"]: c["name"] for c in state.contestants}
    place = {c["id"]: i for i, c in enumerate(state.contestants)}  # colours follow the duel, not the rank
    fig = go.Figure()
    for contestant, values in radar_values(state).items():
        i = place.get(contestant, len(place))
        r = [values[a] if values[a] is not None else 0.0 for a in AXES]
        hover = [f"{name}: {na if values[a] is None else f'{values[a]:.0%}'}" for a, name in zip(AXES, theta)]
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatterpolar(
                r=r + r[:1],
                theta=theta + theta[:1],
                name=names.get(contestant, contestant),
                fill="toself",
                line={"color": colour, "width": 4},
                opacity=0.85,
                text=hover + hover[:1],
                hoverinfo="text+name",
            )
        )
    fig.update_layout(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": ON_AIR_FONT, "size": 26, "color": "#ffffff"},
        polar={
            "bgcolor": "rgba(20,22,30,0.78)",
            "radialaxis": {"range": [0, 1], "showticklabels": False, "gridcolor": "rgba(255,255,255,0.25)"},
            "angularaxis": {"gridcolor": "rgba(255,255,255,0.25)"},
        },
        legend={"orientation": "h", "y": -0.08, "x": 0.5, "xanchor": "center", "font": {"size": 30}},
        margin={"l": 120, "r": 120, "t": 60, "b": 60},
        showlegend=True,
    )
    return fig.to_plotly_json()
