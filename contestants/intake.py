"""Registering a contestant: every check runs before anything is stored or trained.

One of three submissions: a LoRA adapter (folder or archive), an SFT dataset or DPO pairs (jsonl).
:func:`register` raises :class:`~contestants.problems.IntakeError` listing every problem, or
stores the accepted files in the register and returns the record.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from safety import RuleSet, check_input, shipped_rules

from .adapters import check_adapter, copy_adapter
from .archives import ArchiveLimits, extract_archive, is_archive
from .base_models import load_base_model
from .datasets import check_dataset
from .problems import IntakeError
from .registry import ID_PATTERN, Contestant, Registry, SubmissionKind

DEFAULT_MAX_LORA_RANK = 16  # the show script's default for a vLLM engine's max_lora_rank
_rules: RuleSet = shipped_rules()


def _identity_problems(contestant_id: str, name: str, team: str, registry: Registry) -> list[str]:
    problems = []
    if not re.fullmatch(ID_PATTERN, contestant_id):
        problems.append(f"id: {contestant_id!r} must be 1-40 of a-z, 0-9, _ and -, starting with a letter or digit")
    elif (registry.folder(contestant_id) / "contestant.json").exists():
        problems.append(f"id: {contestant_id!r} is already registered")
    if not name.strip() or len(name) > 40:
        problems.append("name: must be 1-40 characters")
    if len(team) > 80:
        problems.append("team: at most 80 characters")
    for field, text in (("name", name), ("team", team)):
        verdict = check_input(text, _rules) if text.strip() else None
        if verdict is not None and not verdict.allowed:
            problems.append(f"{field}: {verdict.reason}")
    return problems


def register(
    registry: Registry,
    contestant_id: str,
    name: str,
    team: str,
    base_model: str,
    kind: SubmissionKind,
    submission: Path,
    max_lora_rank: int = DEFAULT_MAX_LORA_RANK,
    archive_limits: ArchiveLimits = ArchiveLimits(),
) -> Contestant:
    problems = _identity_problems(contestant_id, name, team, registry)
    if kind not in ("adapter", "sft", "dpo"):
        problems.append(f"kind: must be adapter, sft or dpo, got {kind!r}")
    if not submission.exists():
        problems.append(f"{submission}: no such file or folder")
    try:
        base = load_base_model(base_model)
    except IntakeError as error:
        problems += error.problems
        base = None
    if problems:
        raise IntakeError(problems)

    record = Contestant(id=contestant_id, name=name, team=team, base_model=base_model, kind=kind)
    with tempfile.TemporaryDirectory(prefix="gavel-intake-") as scratch:
        if kind == "adapter":
            folder = submission
            if is_archive(submission):
                folder = extract_archive(submission, Path(scratch) / "unpacked", archive_limits)
            elif not submission.is_dir():
                raise IntakeError([f"{submission.name}: an adapter is a folder or an archive ({', '.join(('.zip', '.tar.gz', '.tgz'))})"])
            summary = check_adapter(folder, base, max_lora_rank)
            copy_adapter(folder, registry.adapter_dir(contestant_id))
            record.rank, record.adapter_ready = summary.rank, True
        else:
            if not submission.is_file():
                raise IntakeError([f"{submission}: a {kind} dataset is one jsonl file"])
            record.rows = check_dataset(submission, kind, _rules).rows
            registry.folder(contestant_id).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(submission, registry.data_file(contestant_id))
    registry.save(record)
    return record
