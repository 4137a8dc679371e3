"""Adapters the studio trains itself, once, from data in the repository (the demo's contestant).

``gavel models prepare`` (run by install.sh) trains them with the same pipeline a team's
submission goes through (``contestants.training``: ms-swift in its own process, under a budget)
and caches the result beside the converted models. A show script names one as
``adapter: prepared:<name>``. A marker records the data's sha256 and the training settings, so a
second call returns at once and a change to either retrains.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from engine_pool.model_files import default_cache_dir

from .budget import Budget
from .training import TrainingJob, run_training

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "prepared:"
MARKER = "gavel_adapter.json"


@dataclass(frozen=True)
class AdapterRecipe:
    dataset: str  # relative to the repository
    base_model: str = "smollm2-135m-instruct"
    kind: str = "sft"
    steps: int = 8
    batch_size: int = 4
    learning_rate: float = 5e-3
    max_length: int = 64
    lora_rank: int = 8
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    wall_s: float = 900.0


# The shipped episodes' cast: four variants of the one base model, each trained from its own data
# in show_scripts/contestants/ (see its README), all four within a few minutes of install on two
# CPU cores. max_length covers each set's longest row in the chat template (ms-swift drops longer
# rows); a high learning rate makes a style stick in a handful of steps.
RECIPES = {
    "bao-sft": AdapterRecipe(dataset="show_scripts/contestants/bao_sft.jsonl", steps=8, max_length=96),  # quiz specialist
    # the poet answers everything in verse: a style against the grain of the base, so two epochs
    "mei-poet": AdapterRecipe(dataset="show_scripts/contestants/mei_poet_sft.jsonl", steps=20, max_length=160),
    "cato-debate": AdapterRecipe(dataset="show_scripts/contestants/cato_debate_sft.jsonl", steps=8, max_length=224),  # debater
    "dao-dpo": AdapterRecipe(  # aligned with DPO on preference pairs: the values arena's "DPO twin"
        dataset="show_scripts/contestants/dao_values_dpo.jsonl",
        kind="dpo",
        steps=6,
        batch_size=2,
        max_length=160,
        learning_rate=2e-3,
    ),
}


def _fingerprint(recipe: AdapterRecipe) -> str:
    digest = hashlib.sha256(json.dumps(asdict(recipe), sort_keys=True).encode())
    digest.update((REPO_ROOT / recipe.dataset).read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_ready(target: Path, fingerprint: str) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((target / MARKER).read_text()).get("fingerprint") == fingerprint
    return False


def is_prepared(name: str, cache_dir: Path | None = None) -> bool:
    """Trained already, from today's data and recipe."""
    return _is_ready(Path(cache_dir or default_cache_dir()) / "adapters" / name, _fingerprint(RECIPES[name]))


def prepare_adapter(name: str, cache_dir: Path | None = None) -> Path:
    """The cached adapter folder, trained first if missing or out of date."""
    if name not in RECIPES:
        raise ValueError(f"unknown prepared adapter {name!r} (known: {', '.join(sorted(RECIPES))})")
    recipe = RECIPES[name]
    target = Path(cache_dir or default_cache_dir()) / "adapters" / name
    fingerprint = _fingerprint(recipe)
    if _is_ready(target, fingerprint):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{name}.lock"):  # a studio and a test run may ask at once
        if _is_ready(target, fingerprint):
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{name}.job-", dir=target.parent))
        try:
            job = TrainingJob(
                kind=recipe.kind,
                dataset=REPO_ROOT / recipe.dataset,
                job_dir=work,
                base_model=recipe.base_model,
                budget=Budget(wall_s=recipe.wall_s, max_steps=recipe.steps),
                batch_size=recipe.batch_size,
                learning_rate=recipe.learning_rate,
                max_length=recipe.max_length,
                lora_rank=recipe.lora_rank,
                lora_alpha=2 * recipe.lora_rank,
                target_modules=list(recipe.target_modules),
                save_steps=recipe.steps,  # only the finished adapter is used: no checkpoint per step
            )
            result = run_training(job)
            if result.status != "completed":
                raise RuntimeError(f"training the prepared adapter {name!r} {result.status}: {result.reason} (log: {result.log})")
            marker = {"fingerprint": fingerprint, "recipe": asdict(recipe), "steps": result.steps}
            (result.adapter / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(result.adapter, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def resolve_adapter(value: str, relative_to: Path) -> Path:
    """A show script's ``adapter``: ``prepared:<name>`` (trained on demand) or a folder."""
    if value.startswith(PREFIX):
        return prepare_adapter(value[len(PREFIX) :])
    return (relative_to / value).resolve()
