"""Checking a submitted LoRA adapter (PEFT / ms-swift layout) against its base model.

Only ``adapter_config.json`` and ``adapter_model.safetensors`` are used, and the weights are read
header-only. Pickle formats (``.bin``, ``.pt``, ``.pth``, ``.pkl``, ``.ckpt``) run code when
loaded, so they are refused outright rather than skipped: a team must convert them to
safetensors. The checks are what vLLM would otherwise discover mid-show (by failing the request
or, for an unloadable adapter, worse): the rank within the engine's ``max_lora_rank``, every
target module present in the base, every tensor the right shape for the module it adapts.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .base_models import BaseModel
from .problems import IntakeError
from .safetensors_header import HeaderError, read_header

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_LORA_TENSOR = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<part>A|B)\.weight$")


@dataclass(frozen=True)
class AdapterSummary:
    rank: int
    alpha: float
    target_modules: list[str]
    adapted_modules: int


def _config_problems(config: dict, base: BaseModel, max_lora_rank: int) -> list[str]:
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"{CONFIG_FILE}: peft_type is {config.get('peft_type')!r}; only LORA adapters are served")
    rank = config.get("r")
    if not isinstance(rank, int) or rank < 1:
        problems.append(f"{CONFIG_FILE}: r must be a positive integer, got {rank!r}")
    elif rank > max_lora_rank:
        problems.append(f"{CONFIG_FILE}: r={rank} is over the engine's max_lora_rank of {max_lora_rank}")
    if config.get("use_dora"):
        problems.append(f"{CONFIG_FILE}: use_dora is set; DoRA adapters cannot be served by the engine")
    if config.get("modules_to_save"):
        problems.append(f"{CONFIG_FILE}: modules_to_save={config['modules_to_save']!r}: full weights of base modules are not accepted")
    targets = config.get("target_modules")
    known = base.module_leaf_names
    if isinstance(targets, str):
        if not any(re.fullmatch(targets, module) for module in base.linear_shapes):
            problems.append(f"{CONFIG_FILE}: target_modules pattern {targets!r} matches no module of {base.name}")
    elif isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets):
        missing = [t for t in targets if t not in known]
        if missing:
            problems.append(
                f"{CONFIG_FILE}: target_modules {missing} are not modules of {base.name} "
                f"({base.architecture}; its linear modules: {', '.join(sorted(known))})"
            )
    else:
        problems.append(f"{CONFIG_FILE}: target_modules must be a non-empty list of module names or a pattern")
    return problems


def _tensor_problems(weights: Path, base: BaseModel, rank: int | None) -> tuple[list[str], int]:
    try:
        tensors = read_header(weights)
    except HeaderError as error:
        return [f"{WEIGHTS_FILE}: not a valid safetensors file: {error}"], 0
    problems: list[str] = []
    modules: set[str] = set()
    for name, info in sorted(tensors.items()):
        match = _LORA_TENSOR.match(name)
        if not match:
            problems.append(f"{WEIGHTS_FILE}: tensor {name!r} is not a LoRA A/B weight")
            continue
        module, part = match["module"], match["part"]
        if module not in base.linear_shapes:
            problems.append(f"{WEIGHTS_FILE}: tensor {name!r} adapts {module!r}, which {base.name} ({base.architecture}) does not have")
            continue
        out_features, in_features = base.linear_shapes[module]
        expected = (rank, in_features) if part == "A" else (out_features, rank)
        if rank is not None and info.shape != expected:
            problems.append(
                f"{WEIGHTS_FILE}: tensor {name!r} has shape {list(info.shape)}, expected {list(expected)} for {base.name} at rank {rank}"
            )
        modules.add(module)
        if len(problems) >= 10:
            problems.append(f"{WEIGHTS_FILE}: … more problems not listed")
            break
    if not tensors:
        problems.append(f"{WEIGHTS_FILE}: holds no tensors")
    return problems, len(modules)


def check_adapter(folder: Path, base: BaseModel, max_lora_rank: int) -> AdapterSummary:
    """An adapter folder's summary, or :class:`IntakeError` naming every problem."""
    problems: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            problems.append(f"{path.relative_to(folder)}: symbolic links are not accepted")
        elif path.name.lower().endswith(PICKLE_SUFFIXES):
            problems.append(f"{path.relative_to(folder)}: pickle files are never loaded (they can run code); submit {WEIGHTS_FILE}")
    for required in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / required).is_file():
            problems.append(f"{required}: missing from the adapter folder")
    if problems:
        raise IntakeError(problems)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (UnicodeDecodeError, ValueError) as error:
        raise IntakeError([f"{CONFIG_FILE}: not valid JSON ({error})"]) from None
    problems += _config_problems(config, base, max_lora_rank)
    rank = config.get("r") if isinstance(config.get("r"), int) else None
    tensor_problems, adapted = _tensor_problems(folder / WEIGHTS_FILE, base, rank)
    problems += tensor_problems
    if problems:
        raise IntakeError(problems)
    targets = config["target_modules"]
    return AdapterSummary(
        rank=rank or 0,
        alpha=float(config.get("lora_alpha", rank or 0)),
        target_modules=[targets] if isinstance(targets, str) else list(targets),
        adapted_modules=adapted,
    )


def copy_adapter(folder: Path, target: Path) -> Path:
    """Copy just what the engine loads (config + safetensors weights) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        shutil.copyfile(folder / name, target / name)
    return target
