"""The show's content filter ("Safe on air").

Model output is checked token by token before it reaches on-air graphics, and every input a
model will see (questions, motions, viewer challenges, uploaded data) is checked before it is
sent. ``normalize`` turns text into a canonical skeleton that defeats cheap evasions, ``rules``
loads the show's rule lists, ``detect`` finds hits incrementally, ``stream_filter`` turns hits
into released text (mask / cut / hold).
"""

from .detect import Detector, Flag, Hit
from .normalize import Skeleton, skeleton
from .rules import Rule, RuleSet, load_rules, shipped_rules
from .stream_filter import Release, StreamFilter, Verdict, check_input

__all__ = [
    "Detector",
    "Flag",
    "Hit",
    "Release",
    "Rule",
    "RuleSet",
    "Skeleton",
    "StreamFilter",
    "Verdict",
    "check_input",
    "load_rules",
    "shipped_rules",
    "skeleton",
]
