"""What intake needs to know about a base model from the studio's registry.

The registry is ``engine_pool.model_files.MODEL_REGISTRY`` (names the engines can serve). An
adapter is checked against the base's ``config.json`` (architecture, model type) and against the
names and shapes in its safetensors header: a LoRA on ``q_proj`` must find a ``q_proj`` of the
right size in the base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine_pool.model_files import MODEL_REGISTRY, resolve_model

from .problems import IntakeError
from .safetensors_header import read_header


@dataclass(frozen=True)
class BaseModel:
    name: str
    path: Path
    architecture: str
    model_type: str
    linear_shapes: dict[str, tuple[int, int]]  # module path (no ".weight") -> (out, in)

    @property
    def module_leaf_names(self) -> set[str]:
        return {module.rsplit(".", 1)[-1] for module in self.linear_shapes}


def known_base_models() -> list[str]:
    return sorted(MODEL_REGISTRY)


@lru_cache(maxsize=8)
def load_base_model(name: str) -> BaseModel:
    if name not in MODEL_REGISTRY:
        raise IntakeError([f"base_model: {name!r} is not in the studio's model registry (known: {', '.join(known_base_models())})"])
    path = resolve_model(name)
    config = json.loads((path / "config.json").read_text())
    shapes: dict[str, tuple[int, int]] = {}
    for weights in sorted(path.glob("*.safetensors")):
        for tensor, info in read_header(weights).items():
            if tensor.endswith(".weight") and len(info.shape) == 2:
                shapes[tensor[: -len(".weight")]] = (info.shape[0], info.shape[1])
    return BaseModel(
        name=name,
        path=path,
        architecture=(config.get("architectures") or ["?"])[0],
        model_type=config.get("model_type", "?"),
        linear_shapes=shapes,
    )
