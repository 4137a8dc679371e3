"""What goes on air with each part of the rundown: a show script's graphics plan, with defaults.

A rundown item in broadcast tools (SPX-GC, CasparCG clients) names the graphics that go with it.
Here a stage may name its own (``graphics:`` in the stage) and the show its opening and closing
(the script's top-level ``graphics:``); a stage that names none gets the plan of its kind:

- ``intro``  — steps played before the stage starts (its title card);
- ``live``   — what program shows while it runs (put on air when it starts: everything else off);
- ``cues``   — changes on events during the stage (the vote bars while a poll is open…);
- ``outro``  — steps played after it ends (the radar after a speed round, the leaderboard).

A *step* puts exactly its graphics on program for its hold time. Autopilot (studio/show/autopilot.py)
plays the plan through the director's own commands; a director can still cue anything by hand.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .graphics import GRAPHICS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_graphic(name: str) -> str:
    if name not in GRAPHICS:
        raise ValueError(f"unknown graphic {name!r}; known: {', '.join(GRAPHICS)}")
    return name


class GraphicItem(_Strict):
    """One graphic with its data; a bare name in YAML means ``{graphic: name}``."""

    graphic: str
    data: dict[str, Any] = Field(default_factory=dict)
    hold_s: float | None = Field(None, gt=0, le=600)  # as a step: how long it stays (default: the plan's hold_s)
    each_contestant: bool = False  # as a step: one step per contestant, data.contestant set to each

    @field_validator("graphic")
    @classmethod
    def _graphic(cls, value: str) -> str:
        return _known_graphic(value)


GraphicRef = Union[str, GraphicItem]


def item(ref: GraphicRef) -> GraphicItem:
    return GraphicItem(graphic=ref) if isinstance(ref, str) else ref


def _check_refs(refs: list[GraphicRef] | None) -> list[GraphicRef] | None:
    for ref in refs or []:
        if isinstance(ref, str):
            _known_graphic(ref)
    return refs


class EventCue(_Strict):
    """On an event of the stage (``poll.opened``…): graphics put on and taken off program."""

    on: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    show: list[GraphicRef] = Field(default_factory=list)
    hide: list[str] = Field(default_factory=list)
    after_s: float = Field(0.0, ge=0, le=600)

    @field_validator("show", "hide")
    @classmethod
    def _graphics(cls, value: list) -> list:
        return _check_refs(value)


class StageGraphics(_Strict):
    """A stage's graphics; a field left out takes the default of the stage's kind."""

    intro: list[GraphicRef] | None = None
    live: list[GraphicRef] | None = None
    cues: list[EventCue] | None = None
    outro: list[GraphicRef] | None = None

    @field_validator("intro", "live", "outro")
    @classmethod
    def _graphics(cls, value: list | None) -> list | None:
        return _check_refs(value)


class ShowGraphics(_Strict):
    """The script's top-level ``graphics``: whether autopilot plays the plan, the opening and closing."""

    autopilot: bool = True  # false: autopilot only moves the rundown on; the duel stays on air
    hold_s: float = Field(3.0, gt=0, le=600)  # a step's time on air unless it says otherwise
    opening: list[GraphicRef] = Field(
        default_factory=lambda: [
            GraphicItem(graphic="title_card", data={"show": True}, hold_s=4.0),
            GraphicItem(graphic="lower_third", each_contestant=True, hold_s=2.5),
        ]
    )
    closing: list[GraphicRef] = Field(default_factory=lambda: [GraphicItem(graphic="end_card", hold_s=8.0)])

    @field_validator("opening", "closing")
    @classmethod
    def _graphics(cls, value: list) -> list:
        return _check_refs(value)


_POLL_CUES = [
    EventCue(on="poll.opened", show=["vote_bars"], hide=["duel"]),
    EventCue(on="question.asked", show=["duel"], hide=["vote_bars"]),
]
_DEFAULTS: dict[str, StageGraphics] = {
    "speed_qa": StageGraphics(live=["duel"], cues=[], outro=["radar", "leaderboard"]),
    "surprise": StageGraphics(live=["duel"], cues=_POLL_CUES, outro=["leaderboard"]),
    "debate": StageGraphics(
        live=["duel"], cues=[*_POLL_CUES, EventCue(on="debate.result", show=["duel"], hide=["vote_bars"])], outro=["leaderboard"]
    ),
    "values_arena": StageGraphics(live=["duel"], cues=_POLL_CUES, outro=["leaderboard"]),
    "image_poem": StageGraphics(
        live=["image_poem"],
        cues=[
            EventCue(on="poll.opened", show=["vote_bars"], hide=["image_poem"]),
            EventCue(on="poll.closed", show=["image_poem"], hide=["vote_bars"], after_s=3.0),
        ],
        outro=["leaderboard"],
    ),
    "subtitles": StageGraphics(live=["subtitles"], cues=[], outro=["leaderboard"]),
}


class StagePlan(BaseModel):
    intro: list[GraphicItem]
    live: list[GraphicItem]
    cues: list[EventCue]
    outro: list[GraphicItem]


def stage_plan(kind: str, index: int, given: StageGraphics | None) -> StagePlan:
    """The stage's plan: what the script gave, the kind's default for the rest. A title card in
    the intro announces this stage (it plays before the stage is the current one)."""
    default = _DEFAULTS.get(kind, StageGraphics(live=["duel"], cues=[], outro=["leaderboard"]))
    given = given or StageGraphics()
    intro = [item(r) for r in (given.intro if given.intro is not None else ["title_card"])]
    intro = [i.model_copy(update={"data": {"stage": index, **i.data}}) if i.graphic == "title_card" else i for i in intro]

    def pick(name: str) -> list:
        mine = getattr(given, name)
        return mine if mine is not None else getattr(default, name)

    return StagePlan(intro=intro, live=[item(r) for r in pick("live")], cues=list(pick("cues")), outro=[item(r) for r in pick("outro")])


def expand_steps(refs: list[GraphicRef], contestant_ids: list[str]) -> list[GraphicItem]:
    """Steps in order, with ``each_contestant`` items made one step per contestant."""
    steps: list[GraphicItem] = []
    for ref in refs:
        one = item(ref)
        if one.each_contestant:
            steps += [one.model_copy(update={"data": {**one.data, "contestant": c}, "each_contestant": False}) for c in contestant_ids]
        else:
            steps.append(one)
    return steps
