"""``gavel contestants …``: register, train and qualify contestants from the command line."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Contestants: register a team's submission (LoRA adapter, SFT data or DPO pairs), train it "
    "with ms-swift under a budget, qualify it with EvalScope. Every refusal names the problem.",
    no_args_is_help=True,
)

STORE_HELP = "The contestants' register (default data/contestants)."
DEFAULT_STORE = Path("data") / "contestants"


def _absolute(path: Optional[Path]) -> Optional[Path]:
    """Folders are made absolute once, here: training and serving run in child processes with
    working directories of their own."""
    return None if path is None else path.expanduser().resolve()


def _fail(problems: list[str], title: str) -> None:
    typer.secho(title, fg="red", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(2)


def _show_events(data_dir: Optional[Path], redis_url: Optional[str], show: Optional[str]):
    from .show_events import ShowEvents, show_redis_url

    data_dir = _absolute(data_dir)
    url = show_redis_url(data_dir, redis_url)
    if url is None and (data_dir or redis_url or show):
        _fail([f"no running show's Redis in {data_dir} (redis.sock) and no --redis-url"], "cannot reach the show")
    if url is not None and not show:
        _fail(["--show: the show id is needed to post events into its log"], "cannot reach the show")
    return ShowEvents(url, show) if url else None


@app.command()
def register(
    contestant_id: str = typer.Argument(..., metavar="ID", help="Short id: a-z, 0-9, _ and - (as in show scripts)."),
    name: str = typer.Option(..., help="Name shown on air."),
    team: str = typer.Option("", help="Team name."),
    base_model: str = typer.Option("smollm2-135m-instruct", help="A base model from the studio's model registry."),
    adapter: Optional[Path] = typer.Option(None, help="A LoRA adapter: PEFT/ms-swift folder, .zip or .tar.gz (safetensors only)."),
    sft: Optional[Path] = typer.Option(None, help='SFT data: jsonl, one {"messages": [...]} per line.'),
    dpo: Optional[Path] = typer.Option(None, help='DPO pairs: jsonl, {"messages": [...], "rejected_response": "..."} per line.'),
    max_lora_rank: int = typer.Option(16, help="The serving engine's max_lora_rank: a higher-rank adapter is refused."),
    store: Path = typer.Option(DEFAULT_STORE, help=STORE_HELP),
) -> None:
    """Check a submission and register the contestant. Nothing is stored unless every check passes."""
    from .intake import register as do_register
    from .problems import IntakeError
    from .registry import Registry

    given = {kind: path for kind, path in (("adapter", adapter), ("sft", sft), ("dpo", dpo)) if path is not None}
    if len(given) != 1:
        _fail(["give exactly one of --adapter, --sft or --dpo"], "nothing to register")
    ((kind, path),) = given.items()
    try:
        record = do_register(Registry(_absolute(store)), contestant_id, name, team, base_model, kind, path, max_lora_rank=max_lora_rank)
    except IntakeError as error:
        _fail(error.problems, f"{path}: refused:")
    typer.echo(json.dumps(record.model_dump(), ensure_ascii=False))


@app.command("list")
def list_contestants(store: Path = typer.Option(DEFAULT_STORE, help=STORE_HELP)) -> None:
    """One JSON line per registered contestant."""
    from .registry import Registry

    for record in Registry(_absolute(store)).all():
        typer.echo(json.dumps(record.model_dump(), ensure_ascii=False))


@app.command()
def train(
    contestant_id: str = typer.Argument(..., metavar="ID"),
    steps: int = typer.Option(100, help="Budget: optimizer steps at most."),
    wall_s: float = typer.Option(600, help="Budget: wall-clock seconds; the job stops at the next step, keeping it."),
    max_rss_mb: int = typer.Option(8192, help="Budget: resident memory of a training process, MB."),
    max_length: int = typer.Option(512, help="Tokens per row (longer rows are cut)."),
    lora_rank: int = typer.Option(8),
    learning_rate: float = typer.Option(5e-4),
    batch_size: int = typer.Option(1, help="Per device."),
    gradient_accumulation_steps: int = typer.Option(1),
    nproc_per_node: int = typer.Option(1, help="GPUs on this node: >1 runs the ranks under torchrun."),
    swift_arg: list[str] = typer.Option(
        [], help='Passed to ms-swift as is, KEY=VALUE (JSON values): deepspeed=zero2, fsdp="full_shard auto_wrap", torch_dtype=bfloat16.'
    ),
    store: Path = typer.Option(DEFAULT_STORE, help=STORE_HELP),
    show: Optional[str] = typer.Option(None, help="Post progress into this show's event log (its id)."),
    show_data_dir: Optional[Path] = typer.Option(None, help="The running show's data dir (its Redis socket)."),
    redis_url: Optional[str] = typer.Option(None, envvar="REDIS_URL", help="Or the show's Redis."),
) -> None:
    """Train a registered SFT/DPO contestant's LoRA adapter with ms-swift, in its own process."""
    from tqdm import tqdm

    from core import events as ev

    from .budget import Budget
    from .registry import Registry
    from .training import TrainingJob, run_training

    registry = Registry(_absolute(store))
    try:
        record = registry.get(contestant_id)
    except KeyError as error:
        _fail([str(error.args[0])], "unknown contestant")
    if record.kind not in ("sft", "dpo"):
        _fail([f"{contestant_id} submitted an adapter; there is nothing to train"], "nothing to train")
    extra = {}
    for item in swift_arg:
        key, sep, value = item.partition("=")
        if not sep:
            _fail([f"--swift-arg {item!r}: must be KEY=VALUE"], "bad option")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    job_id = f"{contestant_id}-{record.kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    job = TrainingJob(
        kind=record.kind,
        dataset=registry.data_file(contestant_id),
        job_dir=registry.folder(contestant_id) / "jobs" / job_id,
        base_model=record.base_model,
        budget=Budget(wall_s=wall_s, max_steps=steps, max_rss_mb=max_rss_mb),
        max_length=max_length,
        lora_rank=lora_rank,
        lora_alpha=2 * lora_rank,
        learning_rate=learning_rate,
        batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps,
        nproc_per_node=nproc_per_node,
        swift_args=extra,
    )
    events = _show_events(show_data_dir, redis_url, show)
    bar = tqdm(total=steps, desc=f"training {contestant_id} ({record.kind})", unit="step")

    def on_progress(p) -> None:
        bar.n = p.step
        bar.set_postfix_str(
            " ".join(
                filter(
                    None,
                    [
                        f"loss {p.loss:.3f}" if p.loss is not None else "",
                        f"eta {p.eta_s:.0f}s" if p.eta_s is not None else "",
                        f"rank {p.rank}/{p.world_size}" if p.world_size > 1 else "",
                        p.reason,
                    ],
                )
            )
        )
        bar.refresh()
        if events and p.event in ("progress", "started"):
            events.publish(
                ev.TrainingProgress(
                    data=ev.TrainingProgressData(
                        contestant=contestant_id,
                        job=job_id,
                        kind=record.kind,
                        step=p.step,
                        max_steps=p.max_steps,
                        loss=p.loss,
                        eta_s=p.eta_s,
                        elapsed_s=p.elapsed_s,
                        rank=p.rank,
                        world_size=p.world_size,
                    )
                )
            )

    try:
        result = run_training(job, on_progress)
    finally:
        bar.close()
    if result.adapter is not None:
        target = registry.adapter_dir(contestant_id)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(result.adapter, target)
        record.adapter_ready, record.rank = True, lora_rank
        registry.save(record)
    if events:
        with events:
            events.publish(
                ev.TrainingFinished(
                    data=ev.TrainingFinishedData(
                        contestant=contestant_id,
                        job=job_id,
                        kind=record.kind,
                        status=result.status,
                        steps=result.steps,
                        adapter=str(registry.adapter_dir(contestant_id)) if result.adapter else None,
                        reason=result.reason,
                    )
                )
            )
    colour = "green" if result.status == "completed" else "yellow" if result.adapter else "red"
    typer.secho(f"{result.status}: {result.reason} (log: {result.log})", fg=colour)
    if result.adapter:
        typer.echo(f"adapter: {registry.adapter_dir(contestant_id)}")
    if result.status == "failed" or result.adapter is None:
        raise typer.Exit(1)


@app.command()
def qualify(
    contestant_id: str = typer.Argument(..., metavar="ID"),
    api_url: Optional[str] = typer.Option(
        None,
        help="Qualify an already-served contestant (OpenAI-compatible /v1 URL). "
        "Default: serve the base model with its adapter on vLLM for the run.",
    ),
    model: Optional[str] = typer.Option(None, help="The model name at --api-url (default: the contestant's id)."),
    limit: Optional[int] = typer.Option(None, help="Items per subset (default: all)."),
    store: Path = typer.Option(DEFAULT_STORE, help=STORE_HELP),
    show: Optional[str] = typer.Option(
        None, help="Post the result into this show's event log (its id): the leaderboard's qualification dimension."
    ),
    show_data_dir: Optional[Path] = typer.Option(
        None, help="The show's data dir: the EvalScope report is kept there, and its Redis socket used."
    ),
    redis_url: Optional[str] = typer.Option(None, envvar="REDIS_URL", help="Or the show's Redis."),
) -> None:
    """Score a contestant with EvalScope on the vendored benchmark sets (MMLU/GSM8K-style, BIG-bench, Chinese)."""
    from core import events as ev
    from engine_pool.model_files import resolve_model

    from .endpoint import ServedContestant
    from .qualification import qualify as run_qualification
    from .registry import Registry

    registry = Registry(_absolute(store))
    try:
        record = registry.get(contestant_id)
    except KeyError as error:
        _fail([str(error.args[0])], "unknown contestant")
    if api_url is None and not record.adapter_ready:
        _fail([f"{contestant_id} has no adapter yet: train it first (gavel contestants train {contestant_id})"], "nothing to serve")
    events = _show_events(show_data_dir, redis_url, show)
    report_dir = (_absolute(show_data_dir) or registry.folder(contestant_id)) / "qualification" / contestant_id
    if api_url is not None:
        scores = run_qualification(api_url, model or contestant_id, report_dir, limit=limit)
    else:
        typer.echo("starting the contestant's endpoint (vLLM, base model + LoRA adapter)…", err=True)
        with ServedContestant(
            resolve_model(record.base_model), contestant_id, registry.adapter_dir(contestant_id), report_dir / "server.log"
        ) as served:
            scores = run_qualification(served.base_url, contestant_id, report_dir, limit=limit)
    result = ev.QualificationResultData(
        contestant=contestant_id,
        scores=scores.scores,
        score=round(scores.score, 4),
        samples=sum(scores.samples.values()),
        report=str(report_dir),
    )
    if events:
        with events:
            events.publish(ev.QualificationResult(data=result))  # on air too: the training graphic shows it
    typer.echo(json.dumps(result.model_dump(), ensure_ascii=False))
