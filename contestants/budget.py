"""A training job's budget: wall time, steps and memory.

The supervisor (``contestants.training``) hands it to the training process through environment
variables; ``contestants.budget_callback`` enforces it there at every step, and the supervisor
kills a process that overstays ``wall_s`` by ``grace_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

PROGRESS_FILE_ENV = "GAVEL_TRAINING_PROGRESS"
STARTED_ENV = "GAVEL_TRAINING_STARTED"  # epoch seconds at launch
WALL_ENV = "GAVEL_TRAINING_WALL_S"
MEMORY_ENV = "GAVEL_TRAINING_MAX_RSS_MB"


@dataclass(frozen=True)
class Budget:
    wall_s: float = 600.0
    max_steps: int = 100
    max_rss_mb: int = 8192  # resident memory of one training process
    grace_s: float = 180.0  # over wall_s before the supervisor kills a process that did not stop
