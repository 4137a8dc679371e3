"""The contestants' register: one folder per contestant in a store (``<data dir>/contestants``).

``<store>/<id>/contestant.json`` records who they are and what they submitted; beside it lie the
accepted files: ``adapter/`` (an uploaded or trained LoRA: config + safetensors only) and
``data.jsonl`` (the checked SFT or DPO rows). Everything here has passed intake.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SubmissionKind = Literal["adapter", "sft", "dpo"]
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"  # as a show script's contestant ids
RECORD_FILE = "contestant.json"


class Contestant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=40)
    team: str = Field("", max_length=80)
    base_model: str
    kind: SubmissionKind
    rows: int = 0  # dataset rows (sft, dpo)
    rank: int = 0  # LoRA rank of the adapter, once there is one
    adapter_ready: bool = False


class Registry:
    def __init__(self, store: Path):
        self.store = Path(store)

    def folder(self, contestant_id: str) -> Path:
        return self.store / contestant_id

    def adapter_dir(self, contestant_id: str) -> Path:
        return self.folder(contestant_id) / "adapter"

    def data_file(self, contestant_id: str) -> Path:
        return self.folder(contestant_id) / "data.jsonl"

    def save(self, contestant: Contestant) -> None:
        folder = self.folder(contestant.id)
        folder.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: a reader never sees half a record.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".contestant-")
        with os.fdopen(fd, "w") as f:
            f.write(contestant.model_dump_json(indent=2))
        os.replace(tmp, folder / RECORD_FILE)

    def get(self, contestant_id: str) -> Contestant:
        path = self.folder(contestant_id) / RECORD_FILE
        if not path.is_file():
            raise KeyError(f"no contestant {contestant_id!r} in {self.store}")
        return Contestant.model_validate(json.loads(path.read_text()))

    def all(self) -> list[Contestant]:
        if not self.store.is_dir():
            return []
        return [self.get(p.parent.name) for p in sorted(self.store.glob(f"*/{RECORD_FILE}"))]
