"""The attention heatmap as a plotly figure, legible at 1920×1080.

Top: a window of the answer's tokens (rows, at most ``ROWS``) against the question's tokens and the
answer's own earlier tokens (columns, at most ``COLUMNS``: the question first, then the answer
tokens nearest the window). Cell = the share of that answer token's attention (of its whole row,
so what the window leaves out — the chat template, far-away tokens — is simply not drawn).
Bottom: "which question words did this answer word look at": the selected token's row over the
question's tokens.

Token text is the model's own, so it is escaped: plotly draws a few HTML-like tags in labels
(links among them), and a token must never become one. The figure's own words ("question",
"answer", …) are the show's language (``att.*`` in its message table, core/locale.py).
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.locale import ON_AIR_FONT, Messages
from engine_pool.attention import AttentionMap

ROWS = 24
COLUMNS = 56
FONT = dict(family=ON_AIR_FONT, size=18, color="#f4f6fb")


def _label(token: str) -> str:
    shown = token.replace("\n", "⏎").strip() or "␣"
    return html.escape(shown if len(shown) <= 14 else shown[:13] + "…")


def window(amap: AttentionMap, selected: int) -> tuple[list[int], list[int]]:
    """(rows, columns) as token indices: ``selected`` is an answer position (0-based)."""
    n = amap.answer_tokens
    selected = max(0, min(selected, n - 1))
    first = max(0, min(selected - ROWS // 2, n - ROWS))
    rows = [amap.answer_start + i for i in range(first, min(n, first + ROWS))]
    q0, q1 = amap.question
    question = list(range(q0, q1))[: COLUMNS // 2]
    room = COLUMNS - len(question)
    answer_cols = list(range(amap.answer_start, rows[-1] + 1))[-room:]
    return rows, question + answer_cols


def attention_figure(amap: AttentionMap, selected: int = 0, messages: Messages | None = None) -> dict[str, Any]:
    messages = messages or Messages("en")
    selected = max(0, min(selected, amap.answer_tokens - 1))
    rows, cols = window(amap, selected)
    z = amap.matrix[rows][:, cols]
    x_labels = [_label(amap.tokens[c]) for c in cols]
    y_labels = [_label(amap.tokens[r]) for r in rows]
    q0, q1 = amap.question
    focus = amap.answer_start + selected
    bars = amap.matrix[focus, q0:q1]

    figure = make_subplots(rows=2, cols=1, row_heights=[0.68, 0.32], vertical_spacing=0.16)
    figure.add_trace(
        go.Heatmap(
            z=z.round(5).tolist(),
            x=list(range(len(cols))),
            y=list(range(len(rows))),
            colorscale="Inferno",
            zmin=0,
            zmax=float(max(z.max(), 1e-6)),
            colorbar=dict(title=dict(text=messages.t("att.share")), len=0.62, y=0.68),
            hoverongaps=False,
        ),
        row=1,
        col=1,
    )
    figure.add_trace(go.Bar(x=list(range(q1 - q0)), y=bars.tolist(), marker_color="#39c0ff"), row=2, col=1)
    question_edge = min(q1 - q0, len(cols)) - 0.5
    figure.add_vline(x=question_edge, line=dict(color="#39c0ff", width=3), row=1, col=1)
    if focus in rows:
        figure.add_hline(y=rows.index(focus), line=dict(color="#ffd24a", width=2), row=1, col=1)
    figure.update_xaxes(tickvals=list(range(len(cols))), ticktext=x_labels, tickangle=-60, row=1, col=1)
    figure.update_yaxes(tickvals=list(range(len(rows))), ticktext=y_labels, autorange="reversed", row=1, col=1)
    figure.update_xaxes(tickvals=list(range(q1 - q0)), ticktext=[_label(t) for t in amap.tokens[q0:q1]], tickangle=-45, row=2, col=1)
    figure.update_yaxes(tickformat=".0%", row=2, col=1)
    word = _label(amap.tokens[focus])
    figure.update_layout(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(10,14,30,0.55)",
        font=FONT,
        showlegend=False,
        margin=dict(l=150, r=40, t=24, b=110),
        annotations=[
            _caption(messages.t("att.question"), x=-0.5),  # over the heatmap: where the question's tokens start
            _caption(messages.t("att.answer"), x=question_edge),  # ... and where the answer's start
            _caption(messages.t("att.which_words", word=word), x=0, xref="paper", y=0.262, size=20, color="#ffd24a"),
        ],
    )
    return figure.to_plotly_json()


def _caption(text: str, x: float, xref: str = "x", y: float = 1.0, size: int = 18, color: str = "#39c0ff") -> dict:
    """A caption anchored at its bottom-left corner."""
    return dict(
        text=text, xref=xref, yref="paper", x=x, y=y, xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=size, color=color)
    )
