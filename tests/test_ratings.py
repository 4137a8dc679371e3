"""Bradley–Terry, bootstrap intervals and online Elo (results/ratings.py)."""

from __future__ import annotations

import math
import random
import time

import pytest

from results.ratings import Match, bootstrap_intervals, bradley_terry, online_elo


def results(a: str, b: str, a_wins: int, games: int, dimension: str = "accuracy") -> list[Match]:
    """``games`` matches between a and b, of which a won ``a_wins`` and b the rest."""
    return [Match(a, b, 1.0, dimension)] * a_wins + [Match(a, b, 0.0, dimension)] * (games - a_wins)


# Hand-computed case. Strengths pi = 4 : 2 : 1 for A : B : C give
#   P(A>B) = 4/(4+2) = 2/3,  P(B>C) = 2/(2+1) = 2/3,  P(A>C) = 4/(4+1) = 4/5,
# and the win counts below are exactly those fractions of 90 games per pair. The likelihood
# equations say each player's observed wins equal its expected wins; with every pair's observed
# fraction equal to its modelled probability they hold, so pi is the MLE (unique up to a
# common factor). On the Elo scale R = 400 * log10(pi): C = 0, B = 120.41, A = 240.82; shifted
# so the mean is 1000: A = 1120.41, B = 1000.00, C = 879.59.
HAND = results("A", "B", 60, 90) + results("B", "C", 60, 90) + results("A", "C", 72, 90)
HAND_MLE = {"A": 1000 + 400 * math.log10(2), "B": 1000.0, "C": 1000 - 400 * math.log10(2)}


def test_bradley_terry_reproduces_the_hand_computed_mle():
    ratings = bradley_terry(HAND, ["A", "B", "C"])
    for player, expected in HAND_MLE.items():
        assert ratings[player] == pytest.approx(expected, abs=1.0)  # the prior's pull stays under a point
    assert ratings["A"] > ratings["B"] > ratings["C"]


def test_without_the_prior_the_fit_is_the_exact_mle():
    ratings = bradley_terry(HAND, ["A", "B", "C"], prior_games=0.0)
    for player, expected in HAND_MLE.items():
        assert ratings[player] == pytest.approx(expected, abs=0.01)


def test_scale_base_and_anchor_follow_the_formula():
    # On the natural scale (base e, scale 1) the gap A - C is ln(4), around a mean of 1500.
    ratings = bradley_terry(HAND, ["A", "B", "C"], scale=1.0, base=math.e, anchor=1500.0, prior_games=0.0)
    assert ratings["A"] - ratings["C"] == pytest.approx(math.log(4), abs=1e-6)
    assert sum(ratings.values()) / 3 == pytest.approx(1500.0, abs=1e-9)


def test_a_tie_is_half_a_win_for_each_side():
    one_win_one_tie = [Match("A", "B", 1.0, "x"), Match("A", "B", 0.5, "x")]  # A: 1.5 of 2 -> P = 3/4
    three_wins_one_loss = results("A", "B", 3, 4, "x")
    tied = bradley_terry(one_win_one_tie, ["A", "B"], prior_games=0.0)
    counted = bradley_terry(three_wins_one_loss, ["A", "B"], prior_games=0.0)
    assert tied["A"] - tied["B"] == pytest.approx(400 * math.log10(3), abs=0.01)
    assert counted["A"] - counted["B"] == pytest.approx(tied["A"] - tied["B"], abs=0.01)


def test_only_ties_means_equal_ratings():
    ties = [Match("A", "B", 0.5, "x"), Match("B", "C", 0.5, "x"), Match("A", "C", 0.5, "x")] * 5
    ratings = bradley_terry(ties, ["A", "B", "C"])
    assert ratings == pytest.approx({"A": 1000.0, "B": 1000.0, "C": 1000.0}, abs=1e-6)


def test_a_player_who_won_everything_stays_finite_and_on_top():
    matches = results("A", "B", 10, 10) + results("A", "C", 10, 10) + results("B", "C", 5, 10)
    ratings = bradley_terry(matches, ["A", "B", "C"])
    assert all(math.isfinite(r) for r in ratings.values())
    assert ratings["A"] > ratings["B"] + 100 and ratings["A"] > ratings["C"] + 100
    assert ratings["A"] < 2000  # finite and sane, not a numerical blow-up
    assert ratings["B"] == pytest.approx(ratings["C"], abs=1e-6)


def test_players_without_matches_sit_at_the_anchor_and_the_others_average_it():
    ratings = bradley_terry(results("A", "B", 3, 4), ["A", "B", "idle"])
    assert ratings["idle"] == 1000.0
    assert (ratings["A"] + ratings["B"]) / 2 == pytest.approx(1000.0, abs=1e-9)
    assert ratings["A"] > 1000.0 > ratings["B"]
    assert bradley_terry([], ["A", "B"]) == {"A": 1000.0, "B": 1000.0}


def test_bradley_terry_ignores_match_order():
    shuffled = list(HAND)
    random.Random(7).shuffle(shuffled)
    assert bradley_terry(shuffled, ["A", "B", "C"]) == pytest.approx(bradley_terry(HAND, ["A", "B", "C"]), abs=1e-9)


def test_unknown_players_and_bad_matches_are_refused():
    with pytest.raises(ValueError, match="unknown player"):
        bradley_terry([Match("A", "Z", 1.0, "x")], ["A", "B"])
    with pytest.raises(ValueError, match="unknown player"):
        online_elo([Match("A", "Z", 1.0, "x")], ["A", "B"])
    with pytest.raises(ValueError):
        Match("A", "A", 1.0, "x")
    with pytest.raises(ValueError):
        Match("A", "B", 1.5, "x")


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_matches():
    few = results("A", "B", 6, 10) + results("B", "C", 6, 10) + results("A", "C", 7, 10)
    many = few * 10
    players = ["A", "B", "C"]
    point = bradley_terry(few, players)
    narrow, wide = bootstrap_intervals(many, players, rounds=300), bootstrap_intervals(few, players, rounds=300)
    for p in players:
        low, high = wide[p]
        assert low <= point[p] <= high
        assert low < high
        assert narrow[p][1] - narrow[p][0] < 0.6 * (high - low)  # ~1/sqrt(10) of the width in theory


def test_bootstrap_is_deterministic_for_a_seed():
    players = ["A", "B", "C"]
    first = bootstrap_intervals(HAND, players, rounds=50, seed=3)
    assert bootstrap_intervals(HAND, players, rounds=50, seed=3) == first
    assert bootstrap_intervals(HAND, players, rounds=50, seed=4) != first


def test_bootstrap_without_matches_is_the_anchor():
    assert bootstrap_intervals([], ["A", "B"]) == {"A": (1000.0, 1000.0), "B": (1000.0, 1000.0)}
    assert bootstrap_intervals([], ["A"], anchor=1500.0) == {"A": (1500.0, 1500.0)}


def test_bootstrap_is_fast_enough_for_a_whole_show():
    players = [f"p{i}" for i in range(10)]
    rng = random.Random(0)
    matches = [Match(*rng.sample(players, 2), rng.choice([0.0, 0.5, 1.0]), "x") for _ in range(5000)]
    started = time.perf_counter()
    intervals = bootstrap_intervals(matches, players, rounds=200)
    assert time.perf_counter() - started < 2.0
    assert len(intervals) == 10


def test_one_match_between_equals_moves_sixteen_points():
    ratings, delta = online_elo([Match("A", "B", 1.0, "x")], ["A", "B"])
    assert ratings == {"A": 1016.0, "B": 984.0}
    assert delta == {"A": 16.0, "B": -16.0}
    tie_ratings, _ = online_elo([Match("A", "B", 0.5, "x")], ["A", "B"])
    assert tie_ratings == {"A": 1000.0, "B": 1000.0}


def test_online_elo_follows_the_order_of_the_matches():
    # Second match: B (984) beats A (1016); expected for B is 1 / (1 + 10 ** (32 / 400)).
    ratings, _ = online_elo([Match("A", "B", 1.0, "x"), Match("B", "A", 1.0, "x")], ["A", "B"])
    gain = 32 * (1 - 1 / (1 + 10 ** (32 / 400)))
    assert ratings["B"] == pytest.approx(984.0 + gain, abs=1e-9)
    assert ratings["A"] == pytest.approx(1016.0 - gain, abs=1e-9)


def test_elo_delta_sums_the_trailing_batch_only():
    matches = [
        Match("A", "D", 1.0, "x", batch="q:0:q1"),  # an earlier batch: D is not in the last one
        Match("A", "B", 1.0, "x", batch="q:0:q2"),
        Match("B", "C", 1.0, "x", batch="q:0:q3"),
        Match("A", "C", 1.0, "x", batch="q:0:q3"),
    ]
    players = ["A", "B", "C", "D"]
    ratings, delta = online_elo(matches, players)
    before, _ = online_elo(matches[:2], players)
    for p in players:
        assert delta[p] == pytest.approx(ratings[p] - before[p], abs=1e-9)
    assert delta["D"] == 0.0
    assert delta["A"] > 0 and delta["B"] != 0 and delta["C"] < 0


def test_unbatched_matches_make_the_last_match_the_last_batch():
    matches = [Match("A", "B", 1.0, "x"), Match("B", "C", 1.0, "x")]
    ratings, delta = online_elo(matches, ["A", "B", "C"])
    assert delta["A"] == 0.0
    assert delta["B"] == pytest.approx(ratings["B"] - 984.0, abs=1e-9)  # B lost the first match: 984
    assert delta["C"] == pytest.approx(-delta["B"], abs=1e-9)
    assert delta["B"] > 16.0  # the underdog (984 after its loss) gains more than 16 from beating C
