"""Show scripts: the YAML rundown a director runs, validated before the show starts.

A script names the engines, the contestants (each routed to an engine, optionally with a LoRA
adapter) and the stages in order. Every problem is reported at once as ``file:line: field:
message``; question banks named by stages are loaded and checked too, relative to the script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contestants.prepared_adapters import PREFIX as PREPARED_PREFIX
from contestants.prepared_adapters import RECIPES as PREPARED_RECIPES

from .graphics_plan import ShowGraphics, StageGraphics
from .locale import Locale
from .yaml_source import SourceError, format_loc, format_validation_error, load_with_lines

_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Dimension = Literal["speed", "accuracy", "creativity", "logic", "values", "qualification"]  # of the leaderboard


class SamplingSpec(_Strict):
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(64, ge=1, le=4096)
    seed: int | None = 0
    stop: list[str] = Field(default_factory=list)
    logprobs: int | None = Field(None, ge=1, le=20)


class VllmEngineSpec(_Strict):
    kind: Literal["vllm"]
    model: str = "smollm2-135m-instruct"  # a registry name (prepared on demand) or a model folder
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    enforce_eager: bool = True
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    max_model_len: int = Field(2048, ge=128)
    kv_cache_gib: float = Field(1.0, gt=0)
    enable_lora: bool = False
    max_lora_rank: int = Field(16, ge=1)


class OpenAIEngineSpec(_Strict):
    kind: Literal["openai"]
    base_url: str
    model: str
    api_key_env: str | None = None  # name of the environment variable holding the key
    timeout_s: float = Field(30.0, gt=0)
    vision: bool = False  # a VLM: image stages send it the picture itself (OpenAI image_url content part)


class ReplayEngineSpec(_Strict):
    """Recorded answers streamed at a set pace: rehearsals, replays, filter drills (no model)."""

    kind: Literal["replay"]
    file: str  # the recording (YAML), relative to the script
    tokens_per_s: float = Field(20.0, gt=0, le=1000)


EngineSpec = Annotated[Union[VllmEngineSpec, OpenAIEngineSpec, ReplayEngineSpec], Field(discriminator="kind")]


class ContestantSpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=40)
    team: str = ""
    engine: str
    adapter: str | None = None  # LoRA adapter folder, relative to the script, or prepared:<name>
    system_prompt: str = "You are a quiz contestant. Answer briefly and precisely."


class _StageSpec(_Strict):
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


class Dilemma(_Strict):
    id: str = Field(pattern=_ID)
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
    prompt: str = (
        "Translate this {source_lang} subtitle line into {target_lang}. Reply with the translation only.\n\n{line}"
    )

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
    Union[SpeedQAStageSpec, SurpriseStageSpec, DebateStageSpec, ValuesArenaStageSpec, SubtitlesStageSpec, ImagePoemStageSpec], Field(discriminator="kind")
]

LEADERBOARD_DIMENSIONS = get_args(Dimension)


class JudgeSpec(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=40)


class JudgingSpec(_Strict):
    # criterion -> the leaderboard dimension its verdicts feed
    criteria: dict[str, Dimension] = Field(
        default_factory=lambda: {"accuracy": "accuracy", "logic": "logic", "creativity": "creativity", "values": "values"},
        min_length=1,
    )
    judges: list[JudgeSpec] = Field(default_factory=list)

    @field_validator("criteria")
    @classmethod
    def _criterion_names(cls, value: dict) -> dict:
        for name in value:
            if not (1 <= len(name) <= 30 and name.replace("_", "").isalnum()):
                raise ValueError(f"criterion {name!r}: letters, digits and _ only, up to 30")
        return value


class LeaderboardSpec(_Strict):
    # how the dimensions combine into the headline rank (relative weights)
    weights: dict[Dimension, float] = Field(
        default_factory=lambda: {"speed": 1.0, "accuracy": 2.0, "creativity": 1.0, "logic": 1.0, "values": 1.0}
    )
    bootstrap_rounds: int = Field(200, ge=10, le=5000)

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: dict) -> dict:
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return value


class AudienceSpec(_Strict):
    """Viewer voting limits (per studio process)."""

    votes_per_s_per_device: float = Field(2.0, gt=0)
    burst_per_device: float = Field(5.0, ge=1)
    votes_per_s_per_ip: float = Field(200.0, gt=0)  # phones behind one carrier NAT share an IP
    burst_per_ip: float = Field(400.0, ge=1)
    devices_per_s_per_ip: float = Field(5.0, gt=0)  # new device tokens handed out per IP
    device_burst_per_ip: float = Field(100.0, ge=1)
    tally_hz: float = Field(4.0, gt=0, le=20)


class SafetySpec(_Strict):
    """The content filter and the broadcast delay (studio/safety, studio/delay_line.py)."""

    shipped_rules: bool = True  # the en/zh lists in show_scripts/safety
    rules: list[str] = Field(default_factory=list)  # more rule files, relative to the script
    delay_s: float = Field(0.0, ge=0, le=60)  # how far program (air) runs behind preview
    hold_timeout_s: float = Field(20.0, gt=0, le=600)  # an unanswered hold is rejected after this
    # Optional classifier hook, "package.module:function": called once per sentence with its text,
    # returns None or a verdict with .id and .action (studio.safety.Flag); see safety/detect.py.
    classifier: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class ExplainSpec(_Strict):
    """Attention heatmaps (studio/explain_desk.py); generation paths come with ``sampling.logprobs``."""

    aggregate: str = Field("mean", pattern=r"^(mean|max|layer:\d{1,3})$")  # over heads and layers
    auto_winner: bool = False  # a heatmap for each speed question's winner (fastest correct answer)
    max_answer_tokens: int = Field(256, ge=8, le=2048)  # longer answers are cut (memory stays bounded)


class GradingSpec(_Strict):
    """Verdicts the grader cannot make (an exact answer hedged between two, or never committed to)."""

    # Under autopilot, an uncertain verdict nobody decided is decided wrong after this many seconds.
    uncertain_timeout_s: float = Field(30.0, gt=0, le=3600)


class ShowInfo(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    locale: Locale = "en"  # the on-air language: graphics, the phones' and the judges' pages
    autopilot_pause_s: float = Field(2.0, ge=0)  # gap between stages when no director drives


class ShowScript(_Strict):
    show: ShowInfo
    engines: dict[str, EngineSpec] = Field(min_length=1)
    contestants: list[ContestantSpec] = Field(min_length=1)
    stages: list[StageSpec] = Field(min_length=1)
    judging: JudgingSpec = Field(default_factory=JudgingSpec)
    leaderboard: LeaderboardSpec = Field(default_factory=LeaderboardSpec)
    audience: AudienceSpec = Field(default_factory=AudienceSpec)
    safety: SafetySpec = Field(default_factory=SafetySpec)
    explain: ExplainSpec = Field(default_factory=ExplainSpec)
    grading: GradingSpec = Field(default_factory=GradingSpec)
    graphics: ShowGraphics = Field(default_factory=ShowGraphics)  # what autopilot airs: studio/graphics_plan.py
    path: Path | None = Field(None, exclude=True)
    warnings: list[str] = Field(default_factory=list, exclude=True)  # problems that do not stop a show

    @model_validator(mode="after")
    def _cross_references(self) -> "ShowScript":
        seen: set[str] = set()
        for i, c in enumerate(self.contestants):
            if c.id in seen:
                raise _FieldProblem(("contestants", i, "id"), f"duplicate contestant id {c.id!r}")
            seen.add(c.id)
            if c.engine not in self.engines:
                known = ", ".join(sorted(self.engines))
                raise _FieldProblem(("contestants", i, "engine"), f"unknown engine {c.engine!r} (known: {known})")
        for i, stage in enumerate(self.stages):
            for who in getattr(stage, "contestants", None) or []:
                if who not in seen:
                    raise _FieldProblem(("stages", i, "contestants"), f"unknown contestant {who!r} (known: {', '.join(sorted(seen))})")
            if stage.kind == "debate" and not stage.contestants and len(self.contestants) < 2:
                raise _FieldProblem(("stages", i), "a debate needs two contestants")
        judges: set[str] = set()
        for i, j in enumerate(self.judging.judges):
            if j.id in judges:
                raise _FieldProblem(("judging", "judges", i, "id"), f"duplicate judge id {j.id!r}")
            judges.add(j.id)
        return self

    def resolve(self, relative: str) -> Path:
        base = self.path.parent if self.path else Path.cwd()
        return (base / relative).resolve()


class _FieldProblem(ValueError):
    """A cross-field problem that still knows which field to blame."""

    def __init__(self, loc: tuple, message: str):
        self.loc, self.message = loc, message
        super().__init__(message)


def load_script(path: str | Path) -> ShowScript:
    """Parse and validate a script and everything it names; raise SourceError listing all problems."""
    from stages.banks import load_bank

    path = Path(path)
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise SourceError([f"{path}:1: a show script is a mapping with show, engines, contestants, stages"])
    try:
        script = ShowScript.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, _FieldProblem):
                line = lines.get(cause.loc) or lines.get(cause.loc[:-1])
                problems.append(f"{path}:{line}: {format_loc(cause.loc)}: {cause.message}")
        if not problems:
            problems = format_validation_error(path, exc, lines)
        raise SourceError(problems) from None
    script.path = path.resolve()
    problems: list[str] = []
    for i, stage in enumerate(script.stages):
        bank = getattr(stage, "bank", None)
        if bank is None:
            continue
        try:
            loaded = load_bank(script.resolve(bank))
        except SourceError as exc:
            problems.append(f"{path}:{lines.get(('stages', i, 'bank'))}: stages[{i}].bank: cannot use {bank!r}:")
            problems += ["    " + p for p in exc.problems]
            continue
        needed, field = (stage.questions, "questions") if stage.kind == "speed_qa" else (stage.candidates * stage.rounds, "candidates")
        if len(loaded.questions) < needed:
            problems.append(
                f"{path}:{lines.get(('stages', i, field), lines.get(('stages', i)))}: stages[{i}].{field}: "
                f"needs {needed} questions but {bank} has only {len(loaded.questions)}"
            )
    for i, stage in enumerate(script.stages):
        if stage.kind == "subtitles" and stage.transcript:
            from stages.subtitles import load_transcript

            try:
                load_transcript(script.resolve(stage.transcript))
            except SourceError as exc:
                problems.append(f"{path}:{lines.get(('stages', i, 'transcript'))}: stages[{i}].transcript: cannot use {stage.transcript!r}:")
                problems += ["    " + p for p in exc.problems]
    for i, stage in enumerate(script.stages):
        if stage.kind != "debate":
            continue
        for who in stage.contestants or [c.id for c in script.contestants[:2]]:
            engine = script.engines[next(c.engine for c in script.contestants if c.id == who)]
            need = stage.context_tokens + stage.sampling.max_tokens
            if isinstance(engine, VllmEngineSpec) and need > engine.max_model_len:
                problems.append(
                    f"{path}:{lines.get(('stages', i, 'context_tokens'), lines.get(('stages', i)))}: stages[{i}].context_tokens: "
                    f"{stage.context_tokens} + sampling.max_tokens {stage.sampling.max_tokens} exceeds {who}'s engine max_model_len {engine.max_model_len}"
                )
    for name, engine in script.engines.items():
        if isinstance(engine, ReplayEngineSpec):
            from engine_pool.replay_engine import ReplayEngine

            try:
                ReplayEngine.from_file(name, script.resolve(engine.file))
            except SourceError as exc:
                problems.append(f"{path}:{lines.get(('engines', name, 'file'))}: engines.{name}.file: cannot use {engine.file!r}:")
                problems += ["    " + p for p in exc.problems]
    try:
        script_rules(script)
    except SourceError as exc:
        problems.append(f"{path}:{lines.get(('safety', 'rules'))}: safety.rules:")
        problems += ["    " + p for p in exc.problems]
    try:
        script_classifier(script)
    except SourceError as exc:
        problems += [f"{path}:{lines.get(('safety', 'classifier'))}: {p}" for p in exc.problems]
    for i, c in enumerate(script.contestants):
        where = f"{path}:{lines.get(('contestants', i, 'adapter'))}: contestants[{i}].adapter"
        if c.adapter and c.adapter.startswith(PREPARED_PREFIX):
            if c.adapter[len(PREPARED_PREFIX):] not in PREPARED_RECIPES:
                problems.append(f"{where}: no prepared adapter {c.adapter!r} (known: {', '.join(PREPARED_PREFIX + n for n in sorted(PREPARED_RECIPES))})")
        elif c.adapter and not script.resolve(c.adapter).is_dir():
            problems.append(f"{where}: no folder {c.adapter!r}")
    if problems:
        raise SourceError(problems)
    script.warnings = identical_contestants(script, path, lines)
    return script


def identical_contestants(script: ShowScript, path: Path, lines: dict) -> list[str]:
    """Contestants that would give the same answers: the same engine (model), adapter and system
    prompt, asked with the same sampling by every stage."""
    first: dict[tuple, int] = {}
    warnings = []
    for i, c in enumerate(script.contestants):
        engine = script.engines[c.engine].model_dump_json()
        key = (engine, c.adapter, c.system_prompt.strip())
        if key in first:
            twin = script.contestants[first[key]]
            warnings.append(
                f"{path}:{lines.get(('contestants', i))}: contestants[{i}]: {c.id} is identical to {twin.id} "
                f"(line {lines.get(('contestants', first[key]))}: same engine, adapter, system prompt and sampling): "
                "they will give the same answers"
            )
        else:
            first[key] = i
    return warnings



def script_classifier(script: ShowScript):
    """The classifier hook the script names, imported (raises SourceError if it cannot be)."""
    import importlib

    if not script.safety.classifier:
        return None
    module, _, name = script.safety.classifier.partition(":")
    try:
        hook = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SourceError([f"safety.classifier: cannot import {script.safety.classifier!r}: {exc}"]) from None
    if not callable(hook):
        raise SourceError([f"safety.classifier: {script.safety.classifier!r} is not callable"])
    return hook


def script_rules(script: ShowScript):
    """The content-filter rules this show runs with (raises SourceError naming file:line)."""
    from .safety.rules import SHIPPED_DIR, load_rules

    paths = sorted(SHIPPED_DIR.glob("*.yaml")) if script.safety.shipped_rules else []
    paths += [script.resolve(p) for p in script.safety.rules]
    return load_rules(*paths)
