"""Ratings from pairwise matches: Bradley–Terry with bootstrap intervals, and online Elo.

Bradley–Terry is fitted the way LMSYS Chatbot Arena fits it: maximum likelihood on an Elo-like
scale, P(a beats b) = 1 / (1 + base ** ((R_b - R_a) / scale)), a tie counting as half a win for
each side. It is order-free, so it is the standing. Online Elo replays the same matches in log
order; it exists for the "what did that result just change" animation, not for the standing.

Anchoring: ratings are shifted so that the players who played at least one match average
``anchor``; a player with no matches gets ``anchor`` exactly.

Prior: a player who won (or lost) everything has an infinite MLE. Each player therefore plays
``prior_games`` (default one) virtual tied game against a virtual player fixed at the anchor. That
is a weak pull towards the middle, worth one game among however many the player really played:
it keeps every rating finite and moves a well-supported rating by well under a point.

Everything is deterministic: the same matches in give the same numbers out (the bootstrap takes
its seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

PRIOR_GAMES = 1.0  # virtual tied games per player against the anchor (see the module docstring)

_MAX_NEWTON_STEPS = 100
_CONVERGED = 1e-10  # largest Newton step, in natural log-odds units, that counts as converged


@dataclass(frozen=True)
class Match:
    """One pairwise result: score 1.0 = a beat b, 0.0 = b beat a, 0.5 = tie.

    ``batch`` groups the matches one event produced (a closed question, a judge's card, a poll),
    so online Elo can say what the latest event changed. "" means the match stands alone.
    """

    a: str
    b: str
    score: float
    dimension: str
    batch: str = ""

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise ValueError(f"a match needs two different players, got {self.a!r} twice")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within [0, 1], got {self.score}")


def _indexed(matches: Sequence[Match], players: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matches as arrays: a's index, b's index, a's score."""
    index = {p: i for i, p in enumerate(players)}
    try:
        a = np.array([index[m.a] for m in matches], dtype=np.int64)
        b = np.array([index[m.b] for m in matches], dtype=np.int64)
    except KeyError as unknown:
        raise ValueError(f"match with unknown player {unknown.args[0]!r}") from None
    score = np.array([m.score for m in matches], dtype=np.float64)
    return a, b, score


def _win_matrix(a: np.ndarray, b: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """wins[i, j]: how often i beat j (ties as halves), summed over the matches."""
    flat = np.bincount(a * n + b, weights=score, minlength=n * n)
    flat += np.bincount(b * n + a, weights=1.0 - score, minlength=n * n)
    return flat.reshape(n, n)


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _fit_strengths(wins: np.ndarray, prior_games: float) -> np.ndarray:
    """Penalised MLE of the log-strengths (natural units), by Newton's method with backtracking.

    The objective is concave and, with the prior, strictly so: Newton converges in a handful of
    steps, and the backtracking only guards against overshooting in lopsided cases.
    """
    n = len(wins)
    games = wins + wins.T
    half_prior = prior_games / 2.0

    def objective(theta: np.ndarray) -> float:
        diff = theta[:, None] - theta[None, :]
        data = float(np.sum(wins * _log_sigmoid(diff)))
        prior = half_prior * float(np.sum(_log_sigmoid(theta) + _log_sigmoid(-theta)))
        return data + prior

    theta = np.zeros(n)
    value = objective(theta)
    for _ in range(_MAX_NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))  # p[i, j] = P(i beats j)
        p_anchor = 1.0 / (1.0 + np.exp(-theta))
        gradient = (wins - games * p).sum(axis=1) + prior_games * (0.5 - p_anchor)
        curvature = games * p * (1.0 - p)
        hessian = curvature - np.diag(curvature.sum(axis=1) + prior_games * p_anchor * (1.0 - p_anchor))
        # Least squares, not solve: with no prior the Hessian is singular along "everyone +c",
        # and the minimum-norm step leaves that direction alone.
        step = np.linalg.lstsq(-hessian, gradient, rcond=None)[0]
        slope = float(gradient @ step)
        t = 1.0
        while True:
            candidate = theta + t * step
            candidate_value = objective(candidate)
            if candidate_value >= value + 1e-4 * t * slope or t < 1e-8:
                break
            t /= 2.0
        theta, value = candidate, candidate_value
        if np.max(np.abs(t * step)) < _CONVERGED:
            break
    return theta


def _ratings_from_wins(wins: np.ndarray, scale: float, base: float, anchor: float, prior_games: float) -> np.ndarray:
    """Ratings for every player of the win matrix; players without games sit at ``anchor``."""
    if prior_games < 0:
        raise ValueError(f"prior_games must be >= 0, got {prior_games}")
    played = (wins + wins.T).sum(axis=1) > 0
    ratings = np.full(len(wins), float(anchor))
    if not played.any():
        return ratings
    theta = _fit_strengths(wins[np.ix_(played, played)], prior_games)
    elo = theta * (scale / math.log(base))
    ratings[played] = anchor + elo - elo.mean()  # the players who played average the anchor
    return ratings


def bradley_terry(
    matches: Sequence[Match],
    players: Sequence[str],
    scale: float = 400.0,
    base: float = 10.0,
    anchor: float = 1000.0,
    prior_games: float = PRIOR_GAMES,
) -> dict[str, float]:
    """Bradley–Terry ratings (Elo scale) for ``players`` from ``matches``; see the module docstring."""
    players = list(players)
    a, b, score = _indexed(matches, players)
    wins = _win_matrix(a, b, score, len(players))
    ratings = _ratings_from_wins(wins, scale, base, anchor, prior_games)
    return {p: float(r) for p, r in zip(players, ratings)}


def bootstrap_intervals(
    matches: Sequence[Match],
    players: Sequence[str],
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.95,
    **bt_kwargs: float,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the Bradley–Terry ratings over ``rounds`` resamplings of the matches.

    Each round draws len(matches) matches with replacement and refits (a player the resample
    leaves out sits at the anchor for that round). Deterministic for a given ``seed``.
    """
    players = list(players)
    anchor = float(bt_kwargs.get("anchor", 1000.0))
    if not matches or rounds <= 0:
        return {p: (anchor, anchor) for p in players}
    fit = {
        "scale": float(bt_kwargs.get("scale", 400.0)),
        "base": float(bt_kwargs.get("base", 10.0)),
        "anchor": anchor,
        "prior_games": float(bt_kwargs.get("prior_games", PRIOR_GAMES)),
    }
    unknown = set(bt_kwargs) - set(fit)
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {sorted(unknown)}")
    a, b, score = _indexed(matches, players)
    n = len(players)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, n))
    for r in range(rounds):
        pick = rng.integers(0, len(matches), size=len(matches))
        samples[r] = _ratings_from_wins(_win_matrix(a[pick], b[pick], score[pick], n), **fit)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
    return {p: (float(lo), float(hi)) for p, lo, hi in zip(players, low, high)}


def online_elo(
    matches: Sequence[Match],
    players: Sequence[str],
    k: float = 32.0,
    scale: float = 400.0,
    base: float = 10.0,
    initial: float = 1000.0,
) -> tuple[dict[str, float], dict[str, float]]:
    """Sequential Elo over ``matches`` in the given order: (ratings, what the last batch changed).

    The last batch is the trailing run of matches sharing the last match's ``batch`` key (just the
    last match when that key is ""). Players outside it have a delta of 0.0.
    """
    ratings = {p: float(initial) for p in players}
    for m in matches:
        for player in (m.a, m.b):
            if player not in ratings:
                raise ValueError(f"match with unknown player {player!r}")
    batch_start = len(matches)
    if matches:
        last = matches[-1].batch
        batch_start -= 1
        while last and batch_start > 0 and matches[batch_start - 1].batch == last:
            batch_start -= 1
    delta = {p: 0.0 for p in players}
    for position, m in enumerate(matches):
        expected_a = 1.0 / (1.0 + base ** ((ratings[m.b] - ratings[m.a]) / scale))
        change = k * (m.score - expected_a)
        ratings[m.a] += change
        ratings[m.b] -= change
        if position >= batch_start:
            delta[m.a] += change
            delta[m.b] -= change
    return ratings, delta
