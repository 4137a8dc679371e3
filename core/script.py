"""Show scripts: the YAML rundown a director runs, as a schema.

A script names the engines, the contestants (each routed to an engine, optionally with a LoRA
adapter), the stages in order (core/stage_specs.py) and the show's sections (judging,
leaderboard, audience, safety, explain, grading, graphics). ``parse_script`` reads one with every
problem reported at once as ``file:line: field: message``; what a script names on disk (banks,
transcripts, recordings, rule files, adapters) is checked by the rundown (studio/show/rundown.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from .graphics_plan import ShowGraphics
from .locale import Locale
from .stage_specs import ID_PATTERN, Dimension, StageSpec, Strict
from .yaml_source import SourceError, format_loc, format_validation_error, load_with_lines


class VllmEngineSpec(Strict):
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


class OpenAIEngineSpec(Strict):
    kind: Literal["openai"]
    base_url: str
    model: str
    api_key_env: str | None = None  # name of the environment variable holding the key
    timeout_s: float = Field(30.0, gt=0)
    vision: bool = False  # a VLM: image stages send it the picture itself (OpenAI image_url content part)


class ReplayEngineSpec(Strict):
    """Recorded answers streamed at a set pace: rehearsals, replays, filter drills (no model)."""

    kind: Literal["replay"]
    file: str  # the recording (YAML), relative to the script
    tokens_per_s: float = Field(20.0, gt=0, le=1000)


EngineSpec = Annotated[Union[VllmEngineSpec, OpenAIEngineSpec, ReplayEngineSpec], Field(discriminator="kind")]


class ContestantSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=40)
    team: str = ""
    engine: str
    adapter: str | None = None  # LoRA adapter folder, relative to the script, or prepared:<name>
    system_prompt: str = "You are a quiz contestant. Answer briefly and precisely."


LEADERBOARD_DIMENSIONS = get_args(Dimension)


class JudgeSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=40)


class JudgingSpec(Strict):
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


class LeaderboardSpec(Strict):
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


class AudienceSpec(Strict):
    """Viewer voting limits: rates per studio process (a flood costs the flooder), and what one
    network may get across every process (kept in Redis): device tokens per minute, and devices
    counted per poll — so minting tokens cannot stuff a ballot."""

    votes_per_ip_per_poll: int = Field(200, ge=0)  # devices from one IP counted in one poll (0: no limit)
    devices_per_min_per_ip: int = Field(400, ge=1)  # new device tokens per IP per minute, all processes
    votes_per_s_per_device: float = Field(2.0, gt=0)
    burst_per_device: float = Field(5.0, ge=1)
    votes_per_s_per_ip: float = Field(200.0, gt=0)  # phones behind one carrier NAT share an IP
    burst_per_ip: float = Field(400.0, ge=1)
    devices_per_s_per_ip: float = Field(5.0, gt=0)  # new device tokens handed out per IP
    device_burst_per_ip: float = Field(100.0, ge=1)
    tally_hz: float = Field(4.0, gt=0, le=20)


class SafetySpec(Strict):
    """The content filter and the broadcast delay (safety, studio/show/delay_line.py)."""

    shipped_rules: bool = True  # the en/zh lists in show_scripts/safety
    rules: list[str] = Field(default_factory=list)  # more rule files, relative to the script
    delay_s: float = Field(0.0, ge=0, le=60)  # how far program (air) runs behind preview
    hold_timeout_s: float = Field(20.0, gt=0, le=600)  # an unanswered hold is rejected after this
    # Optional classifier hook, "package.module:function": called once per sentence with its text,
    # returns None or a verdict with .id and .action (safety.Flag); see safety/detect.py.
    classifier: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class ExplainSpec(Strict):
    """Attention heatmaps (studio/show/explain_desk.py); generation paths come with ``sampling.logprobs``."""

    aggregate: str = Field("mean", pattern=r"^(mean|max|layer:\d{1,3})$")  # over heads and layers
    auto_winner: bool = False  # a heatmap for each speed question's winner (fastest correct answer)
    max_answer_tokens: int = Field(256, ge=8, le=2048)  # longer answers are cut (memory stays bounded)


class GradingSpec(Strict):
    """Verdicts the grader cannot make (an exact answer hedged between two, or never committed to)."""

    # Under autopilot, an uncertain verdict nobody decided is decided wrong after this many seconds.
    uncertain_timeout_s: float = Field(30.0, gt=0, le=3600)


class ShowInfo(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    locale: Locale = "en"  # the on-air language: graphics, the phones' and the judges' pages
    autopilot_pause_s: float = Field(2.0, ge=0)  # gap between stages when no director drives


class ShowScript(Strict):
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
    graphics: ShowGraphics = Field(default_factory=ShowGraphics)  # what autopilot airs: core/graphics_plan.py
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


def parse_script(path: str | Path) -> tuple[ShowScript, dict]:
    """The script at ``path`` validated against the schema, with the line of every field; raises
    SourceError listing every problem at once."""
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
    script.warnings = identical_contestants(script, path, lines)
    return script, lines


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
