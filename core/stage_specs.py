"""The stage kinds' sections of a show script: what each kind of stage is asked to do.

One pydantic model per kind (``kind`` is the discriminator of ``StageSpec``); what they share:
the graphics that go on air with them (core/graphics_plan.py) and the sampling sent, identically,
to every contestant. Checks that need a stage's files (a bank, a transcript) are the rundown's
(studio/show/rundown.py).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .graphics_plan import StageGraphics

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"

Dimension = Literal["speed", "accuracy", "creativity", "logic", "values", "qualification"]  # of the leaderboard


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplingSpec(Strict):
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(64, ge=1, le=4096)
    seed: int | None = 0
    stop: list[str] = Field(default_factory=list)
    logprobs: int | None = Field(None, ge=1, le=20)


class _StageSpec(Strict):
    """What every stage kind has: the graphics that go on air with it (default: its kind's)."""

    graphics: StageGraphics | None = None


class _AsksBankQuestions(_StageSpec):
    """What stages that put bank questions to everyone share: sampling, time limit, the prompt."""

    sampling: SamplingSpec = Field(default_factory=SamplingSpec)
    time_limit_s: float = Field(30.0, gt=0, le=600)
    prompt: str = "{question}"  # how a question is put to the model; {choices} lists mcq options

    @field_validator("prompt")
    @classmethod
    def _has_question(cls, value: str) -> str:
        if "{question}" not in value:
            raise ValueError("must contain {question}")
        return value


class SpeedQAStageSpec(_AsksBankQuestions):
    kind: Literal["speed_qa"]
    title: str = "Speed Q&A"
    bank: str  # path relative to the script
    questions: int = Field(3, ge=1, le=100)
    order: Literal["bank", "shuffle"] = "bank"
    shuffle_seed: int = 0


class SurpriseStageSpec(_AsksBankQuestions):
    """Viewers pick which question is asked next; everyone answers it live, as in speed Q&A."""

    kind: Literal["surprise"]
    title: str = "Surprise challenge"
    bank: str  # candidates are drawn from here
    rounds: int = Field(1, ge=1, le=20)
    candidates: int = Field(3, ge=2, le=8)
    random_choice: bool = True  # add "a random cold question" to the ballot
    draw_seed: int = 0
    vote_s: float = Field(20.0, gt=0, le=600)  # the poll closes by itself after this


class DebateStageSpec(_StageSpec):
    """Two contestants argue a motion: opening, rebuttals, closing, each turn seeing the transcript."""

    kind: Literal["debate"]
    title: str = "Debate"
    motion: str = Field(min_length=5, max_length=300)
    contestants: list[str] | None = Field(None, min_length=2, max_length=2)  # default: the first two
    rounds: int = Field(3, ge=2, le=8)  # turns per side: an opening, rounds-2 rebuttals, a closing
    sides: Literal["random", "alternate"] = "random"  # alternate: by stage position, so a rundown balances
    side_seed: int = 0
    turn_words: int = Field(60, ge=10, le=400)  # asked of each turn
    sampling: SamplingSpec = Field(default_factory=lambda: SamplingSpec(max_tokens=96, temperature=0.7, seed=0))
    turn_time_limit_s: float = Field(30.0, gt=0, le=600)
    context_tokens: int = Field(1024, ge=128, le=131072)  # prompt budget: the transcript is trimmed to fit
    vote_s: float = Field(30.0, ge=0, le=600)  # the audience's poll on the winner (0: none)
    judge_wait_s: float = Field(30.0, ge=0, le=3600)  # how long judges get to score once the debate ends
    judges_weight: float = Field(0.5, ge=0)
    audience_weight: float = Field(0.5, ge=0)
    dimension: Dimension = "logic"  # the leaderboard dimension the result feeds


class Dilemma(Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=5, max_length=2000)


class ValuesArenaStageSpec(_StageSpec):
    """Contestants (e.g. a base model and its DPO-tuned twin) answer the same moral dilemma."""

    kind: Literal["values_arena"]
    title: str = "Values arena"
    dilemmas: list[Dilemma] = Field(min_length=1, max_length=50)
    contestants: list[str] | None = Field(None, min_length=2)  # default: everyone
    sampling: SamplingSpec = Field(default_factory=lambda: SamplingSpec(max_tokens=96, temperature=0.0, seed=0))
    time_limit_s: float = Field(30.0, gt=0, le=600)
    prompt: str = "Moral dilemma: {dilemma}\nWhat should be done, and why? Answer in a few sentences."
    vote_s: float = Field(30.0, ge=0, le=600)  # the audience's verdict poll per dilemma (0: none)
    judge_wait_s: float = Field(0.0, ge=0, le=3600)  # hold after each dilemma for the judges' scores
    dimension: Dimension = "values"  # the leaderboard dimension the audience's verdict feeds

    @field_validator("prompt")
    @classmethod
    def _has_dilemma(cls, value: str) -> str:
        if "{dilemma}" not in value:
            raise ValueError("must contain {dilemma}")
        return value


SUBTITLE_PROMPT_FIELDS = ("source_lang", "target_lang", "line", "previous")


class SubtitlesStageSpec(_StageSpec):
    """Live subtitles (实时字幕): timed source lines (a transcript file and/or typed live by an
    operator) are shown and translated line by line by every contestant; the lag is the score."""

    kind: Literal["subtitles"]
    title: str = "Live subtitles"
    source_lang: str = Field("English", min_length=1, max_length=40)
    target_lang: str = Field("Chinese", min_length=1, max_length=40)
    transcript: str | None = None  # [{t, text}, ...] (YAML/JSON), relative to the script
    operator: bool = False  # lines may also be typed live (the director's subtitle_line command)
    operator_idle_s: float = Field(120.0, gt=0, le=3600)  # operator mode ends this long after the last line (or on "end")
    contestants: list[str] | None = Field(None, min_length=1)  # default: everyone
    sampling: SamplingSpec = Field(default_factory=lambda: SamplingSpec(max_tokens=48, temperature=0.0, seed=0))
    time_limit_s: float = Field(10.0, gt=0, le=600)  # per line, from when its translation starts
    # {line} the line to translate; {previous} the source line before it ("" for the first)
    prompt: str = "Translate this {source_lang} subtitle line into {target_lang}. Reply with the translation only.\n\n{line}"

    @field_validator("prompt")
    @classmethod
    def _prompt_fields(cls, value: str) -> str:
        import string

        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        unknown = names - set(SUBTITLE_PROMPT_FIELDS)
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join(sorted(unknown))}; known: {', '.join(SUBTITLE_PROMPT_FIELDS)}")
        if "line" not in names:
            raise ValueError("must contain {line}")
        return value

    @model_validator(mode="after")
    def _some_source(self) -> "SubtitlesStageSpec":
        if not self.transcript and not self.operator:
            raise ValueError("needs a transcript file, operator: true, or both")
        return self


class ImagePoemStageSpec(_StageSpec):
    """Image to poem (图生文): every contestant writes a poem about a picture shown on air. VLM
    engines (``vision: true``) see the picture; text models are told what a classifier sees in it."""

    kind: Literal["image_poem"]
    title: str = "Image to poem"
    image: str = Field(min_length=1)  # PNG/JPEG/WebP/GIF, relative to the script (or "upload:<id>")
    lines: int = Field(4, ge=1, le=40)  # the poem's length asked (and checked)
    rhyme: bool = True  # ask for (and check) end rhymes
    contestants: list[str] | None = Field(None, min_length=1)  # default: everyone
    vision: Literal["auto", "labels"] = "auto"  # auto: VLM engines get the image; labels: everyone gets labels
    top_k: int = Field(5, ge=1, le=10)  # classifier labels put in the prompt and on the graphic
    sampling: SamplingSpec = Field(default_factory=lambda: SamplingSpec(max_tokens=96, temperature=0.8, seed=0))
    time_limit_s: float = Field(45.0, gt=0, le=600)
    # {lines}, {rhyme} (an instruction or nothing) and {description} (what the model is told about
    # the picture: classifier labels and colours, or "The picture is attached." for a VLM)
    prompt: str = "Write a poem of exactly {lines} lines about this picture. {rhyme}\n{description}\nWrite only the poem, one line per line, no title."
    vote_s: float = Field(0.0, ge=0, le=600)  # the audience's "best poem" poll (0: none)
    judge_wait_s: float = Field(0.0, ge=0, le=3600)  # hold after the poems for the judges' scores
    dimension: Dimension = "creativity"  # the leaderboard dimension the audience's poll feeds

    @field_validator("prompt")
    @classmethod
    def _has_description(cls, value: str) -> str:
        if "{description}" not in value:
            raise ValueError("must contain {description}")
        try:
            value.format(lines=4, rhyme="", description="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{lines}}, {{rhyme}} and {{description}} may be used: {exc}") from None
        return value

    @field_validator("image")
    @classmethod
    def _image_name(cls, value: str) -> str:
        upload = value.removeprefix("upload:")
        if upload != value and not (len(upload) == 16 and all(c in "0123456789abcdef" for c in upload)):
            raise ValueError("an upload is named upload:<16 hex digits>, as POST /api/images returned it")
        return value


StageSpec = Annotated[
    Union[SpeedQAStageSpec, SurpriseStageSpec, DebateStageSpec, ValuesArenaStageSpec, SubtitlesStageSpec, ImagePoemStageSpec],
    Field(discriminator="kind"),
]
