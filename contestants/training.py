"""Training jobs: an SFT or DPO LoRA run with ms-swift, in its own process, under a budget.

The studio never trains in its own process: a job is ``python -m contestants.train_worker`` (or
``torchrun`` with ``nproc_per_node`` > 1), so a live show is never slowed or taken down by it.
This side writes the job file, launches the worker, tails its progress lines into
:class:`Progress` callbacks (the CLI's bar, the show's ``training.*`` events), and kills it only if
it overstays its wall budget by ``grace_s`` (the worker's own callback normally stops it at a
step boundary first). Either way the job ends with the last checkpoint that was fully written,
copied to ``<job dir>/adapter`` as the engine loads it.

Distributed training is configured, not hand-made: ``swift_args`` are passed through to
ms-swift as they are (``deepspeed="zero2"``/``"zero3"``, ``fsdp=...``, ``ddp_backend``…) and
``nproc_per_node`` launches that many ranks with torchrun; see contestants/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

from engine_pool.model_files import resolve_model

from .adapters import CONFIG_FILE, WEIGHTS_FILE
from .budget import MEMORY_ENV, PROGRESS_FILE_ENV, STARTED_ENV, WALL_ENV, Budget

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class TrainingJob:
    kind: Literal["sft", "dpo"]
    dataset: Path
    job_dir: Path
    base_model: str = "smollm2-135m-instruct"
    budget: Budget = field(default_factory=Budget)
    # The base model's chat format, as ms-swift names it (SmolLM2: a llama with ChatML).
    model_type: str = "llama"
    template: str = "chatml"
    lora_rank: int = 8
    lora_alpha: int = 16
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    learning_rate: float = 5e-4
    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    max_length: int = 256
    save_steps: int = 1
    torch_dtype: str = "float32"  # CPU; bfloat16 on GPUs
    beta: float = 0.1  # DPO
    seed: int = 42
    nproc_per_node: int = 1
    swift_args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    event: str  # started | progress | budget | done
    step: int
    max_steps: int
    loss: float | None = None
    eta_s: float | None = None
    elapsed_s: float = 0.0
    rank: int = 0
    world_size: int = 1
    reason: str = ""


@dataclass(frozen=True)
class TrainingResult:
    status: Literal["completed", "budget_exceeded", "failed"]
    steps: int
    adapter: Path | None  # the last good checkpoint, ready for the engine
    reason: str
    log: Path


def last_checkpoint(output_dir: Path) -> Path | None:
    """The newest ``checkpoint-N`` holding a complete adapter (config and weights)."""
    found = []
    for folder in output_dir.glob("checkpoint-*"):
        suffix = folder.name.split("-", 1)[1]
        if suffix.isdigit() and (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file():
            found.append((int(suffix), folder))
    return max(found)[1] if found else None


def _command(job: TrainingJob, job_file: Path) -> list[str]:
    if job.nproc_per_node > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={job.nproc_per_node}",
            "-m",
            "contestants.train_worker",
            str(job_file),
        ]
    return [sys.executable, "-m", "contestants.train_worker", str(job_file)]


def _job_file(job: TrainingJob, output_dir: Path) -> Path:
    spec = {k: v for k, v in asdict(job).items() if k not in ("budget", "job_dir", "dataset", "base_model")}
    spec.update(
        model_path=str(resolve_model(job.base_model)),
        dataset=str(Path(job.dataset).resolve()),
        output_dir=str(output_dir),
        max_steps=job.budget.max_steps,
    )
    path = job.job_dir / "job.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


def _read_new_lines(path: Path, offset: int) -> tuple[list[dict], int]:
    if not path.exists():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()], offset + len(complete)


def run_training(job: TrainingJob, on_progress: Callable[[Progress], None] = lambda p: None) -> TrainingResult:
    """Run one job to its end (completed, budget spent, or failed); blocks."""
    job.job_dir.mkdir(parents=True, exist_ok=True)
    output_dir = job.job_dir / "checkpoints"
    progress_file = job.job_dir / "progress.jsonl"
    log_file = job.job_dir / "train.log"
    progress_file.unlink(missing_ok=True)
    started = time.time()
    env = {
        **os.environ,
        PROGRESS_FILE_ENV: str(progress_file),
        STARTED_ENV: repr(started),
        WALL_ENV: repr(job.budget.wall_s),
        MEMORY_ENV: str(job.budget.max_rss_mb),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    job_file = _job_file(job, output_dir)
    offset, steps, budget_reason, killed = 0, 0, "", ""
    with open(log_file, "wb") as log:
        # Its own session: a kill takes torchrun's ranks with it.
        process = subprocess.Popen(
            _command(job, job_file), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while True:
                exited = process.poll() is not None
                lines, offset = _read_new_lines(progress_file, offset)
                for line in lines:
                    steps = max(steps, int(line.get("step") or 0))
                    if line["event"] == "budget":
                        budget_reason = line.get("reason", "")
                    on_progress(
                        Progress(
                            event=line["event"],
                            step=int(line.get("step") or 0),
                            max_steps=int(line.get("max_steps") or job.budget.max_steps),
                            loss=line.get("loss"),
                            eta_s=line.get("eta_s"),
                            elapsed_s=time.time() - started,
                            rank=line.get("rank", 0),
                            world_size=line.get("world_size", 1),
                            reason=line.get("reason", ""),
                        )
                    )
                if exited:
                    break
                if time.time() - started > job.budget.wall_s + job.budget.grace_s:
                    killed = f"killed after {time.time() - started:.0f} s: over the wall-time budget of {job.budget.wall_s:g} s"
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    continue
                time.sleep(0.5)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    checkpoint = last_checkpoint(output_dir)
    adapter = None
    if checkpoint is not None:
        adapter = job.job_dir / "adapter"
        shutil.rmtree(adapter, ignore_errors=True)
        adapter.mkdir()
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            shutil.copyfile(checkpoint / name, adapter / name)
            os.chmod(adapter / name, 0o644)  # safetensors writes 0600; the engine may run as another user
        steps = max(steps, int(checkpoint.name.split("-")[1]))
    if killed or budget_reason:
        status, reason = "budget_exceeded", killed or budget_reason
    elif process.returncode == 0 and adapter is not None:
        status, reason = "completed", f"{steps} step{'s' * (steps != 1)}"
    else:
        status, reason = "failed", f"exit code {process.returncode}: {_tail(log_file)}"
    return TrainingResult(status=status, steps=steps, adapter=adapter, reason=reason, log=log_file)


def _tail(log_file: Path, lines: int = 3) -> str:
    text = log_file.read_text(errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:]) or "no output"
