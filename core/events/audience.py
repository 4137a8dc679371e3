"""The people's verdicts: the audience's polls, the judges' scores, the leaderboard they feed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import _Data, _Event

__all__ = [
    "answer_target",
    "PollChoice",
    "PollOpenedData",
    "PollTallyData",
    "PollClosedData",
    "PollRevealedData",
    "JudgeScoredData",
    "LeaderboardDimension",
    "LeaderboardRow",
    "LeaderboardData",
    "PollOpened",
    "PollTally",
    "PollClosed",
    "PollRevealed",
    "JudgeScored",
    "Leaderboard",
]


class PollChoice(_Data):
    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)


class PollOpenedData(_Data):
    poll_id: str
    title: str
    kind: Literal["choice", "rating"]  # rating: choices are "1".."5"
    choices: list[PollChoice]
    allow_change: bool  # may a device change its vote while the poll is open
    dimension: str | None = None  # a verdict poll (choices are contestants) feeds this leaderboard dimension
    stage: int | None = None
    closes_ts: float | None = None  # server wall clock; None: the director closes it


class PollTallyData(_Data):
    poll_id: str
    counts: dict[str, int]  # choice id -> votes
    total: int


class PollClosedData(PollTallyData):
    winner: str | None  # the choice with most votes (first listed on a tie), or the director's pick
    decided_by: Literal["audience", "director", "none"]


class PollRevealedData(_Data):
    poll_id: str


class JudgeScoredData(_Data):
    judge: str
    target: str  # what was scored: answer:<stage>:<question_id>:<contestant>
    stage: int
    item: str  # the question (or debate, poem) the target belongs to: same item, comparable scores
    contestant: str
    scores: dict[str, int]  # criterion -> 1..10


class LeaderboardDimension(_Data):
    rating: float  # Bradley–Terry, Elo-like scale (400, base 10, anchored at 1000)
    ci_low: float  # bootstrap 95 % interval
    ci_high: float
    matches: int


class LeaderboardRow(_Data):
    contestant: str
    rank: int
    rating: float  # the headline: the script's weighted mix of the dimensions
    dimensions: dict[str, LeaderboardDimension]
    elo: float  # online Elo over the same matches in log order
    elo_delta: float  # what the latest result changed (the on-air animation)


class LeaderboardData(_Data):
    rows: list[LeaderboardRow]
    weights: dict[str, float]
    matches: int
    through_seq: int  # the director-channel seq of the last event counted


class PollOpened(_Event):
    type: Literal["poll.opened"] = "poll.opened"
    data: PollOpenedData


class PollTally(_Event):
    """Running counts, coalesced (at most a few per second), never one per vote."""

    type: Literal["poll.tally"] = "poll.tally"
    data: PollTallyData


class PollClosed(_Event):
    """The final counts: votes after this are refused and not counted."""

    type: Literal["poll.closed"] = "poll.closed"
    data: PollClosedData


class PollRevealed(_Event):
    """The director shows the results to viewers (phones get tallies from now on)."""

    type: Literal["poll.revealed"] = "poll.revealed"
    data: PollRevealedData


class JudgeScored(_Event):
    type: Literal["judge.scored"] = "judge.scored"
    data: JudgeScoredData


class Leaderboard(_Event):
    type: Literal["leaderboard"] = "leaderboard"
    data: LeaderboardData


def answer_target(stage: int, question_id: str, contestant: str) -> str:
    """What a judge scores: one contestant's answer to one question of one stage."""
    return f"answer:{stage}:{question_id}:{contestant}"
