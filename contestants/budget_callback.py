"""A job's budget enforced inside the training process, so it stops at a step boundary.

The callback runs in the training process (ms-swift's trainer is a transformers ``Trainer``). At
the end of every optimizer step it checks the wall clock (counted from the job's launch, the same
clock the supervising process uses) and the process's resident memory; when either is spent it
asks the trainer to save a checkpoint of this step and stop, so the job ends with its last good
adapter on disk. It also reports progress (step, loss, ETA) as JSON lines appended to a file the
supervisor tails — one line per write, so ranks of a distributed job can share the file.
"""

from __future__ import annotations

import json
import os
import time

import psutil
from transformers import TrainerCallback

from .budget import MEMORY_ENV, PROGRESS_FILE_ENV, STARTED_ENV, WALL_ENV


def _rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def report(line: dict) -> None:
    path = os.environ.get(PROGRESS_FILE_ENV)
    if not path:
        return
    rank, world = _rank()
    text = json.dumps({**line, "rank": rank, "world_size": world, "t": time.time()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class BudgetCallback(TrainerCallback):
    """Stops training cleanly when the wall-time or memory budget is spent; reports progress."""

    def __init__(self, *_args, **_kwargs) -> None:  # ms-swift passes (args, trainer)
        self.started = float(os.environ.get(STARTED_ENV, time.time()))
        self.wall_s = float(os.environ.get(WALL_ENV, "inf"))
        self.max_rss_mb = float(os.environ.get(MEMORY_ENV, "inf"))
        self.process = psutil.Process()
        self.stopped_for: str | None = None

    def _eta(self, state) -> float | None:
        if not state.global_step or not state.max_steps:
            return None
        elapsed = time.time() - self.started
        return elapsed / state.global_step * (state.max_steps - state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            report(
                {
                    "event": "progress",
                    "step": state.global_step,
                    "max_steps": state.max_steps,
                    "loss": float(logs["loss"]),
                    "eta_s": self._eta(state),
                    "elapsed_s": time.time() - self.started,
                }
            )

    def on_step_end(self, args, state, control, **kwargs):
        elapsed = time.time() - self.started
        rss_mb = self.process.memory_info().rss / (1 << 20)
        if elapsed > self.wall_s:
            self.stopped_for = f"wall-time budget of {self.wall_s:g} s spent ({elapsed:.0f} s) at step {state.global_step}"
        elif rss_mb > self.max_rss_mb:
            self.stopped_for = f"memory budget of {self.max_rss_mb:g} MB exceeded ({rss_mb:.0f} MB) at step {state.global_step}"
        if self.stopped_for and not control.should_training_stop:
            control.should_save = True  # keep this step: the last good checkpoint
            control.should_training_stop = True
            report({"event": "budget", "step": state.global_step, "reason": self.stopped_for})
        return control
