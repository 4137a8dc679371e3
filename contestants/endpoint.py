"""Serving a contestant on its own OpenAI-compatible endpoint (vLLM's API server, a child process).

Qualification talks to a contestant the way a remote engine of the show would: over the OpenAI
API. ``ServedContestant`` starts ``python -m vllm.entrypoints.openai.api_server`` on the base
model with the contestant's adapter as a LoRA module (the ``vllm`` console script is broken in the
CPU build), waits until it lists the model, and stops it on exit. ``VLLM_PLUGINS`` is empty:
ms-swift registers a vLLM plugin that imports torchvision, which the CPU stack does not carry.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedContestant:
    def __init__(
        self,
        model_path: Path,
        name: str,
        adapter: Path | None,
        log_file: Path,
        max_lora_rank: int = 16,
        max_model_len: int = 1024,
        kv_cache_gib: int = 1,
        start_timeout_s: float = 600,
    ):
        self.model_path, self.name, self.adapter = Path(model_path), name, adapter
        self.log_file = log_file
        self.max_lora_rank, self.max_model_len, self.kv_cache_gib = max_lora_rank, max_model_len, kv_cache_gib
        self.start_timeout_s = start_timeout_s
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--model",
            str(self.model_path),
            "--dtype",
            "float32",
            "--enforce-eager",
            "--max-model-len",
            str(self.max_model_len),
            "--disable-log-stats",
        ]
        if self.adapter is None:
            return command + ["--served-model-name", self.name]
        return command + [
            "--served-model-name",
            f"{self.name}-base",
            "--enable-lora",
            "--max-lora-rank",
            str(self.max_lora_rank),
            "--lora-modules",
            f"{self.name}={self.adapter}",
        ]

    def __enter__(self) -> "ServedContestant":
        env = {**os.environ, "VLLM_PLUGINS": "", "VLLM_CPU_NUM_OF_RESERVED_CPU": "0", "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib)}
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(self.command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"the contestant's server exited ({self.process.returncode}): {' | '.join(tail)}")
            try:
                models = httpx.get(f"{self.base_url}/models", timeout=2).json()
                if any(m.get("id") == self.name for m in models.get("data", [])):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the contestant's server did not come up within {self.start_timeout_s:g} s (log: {self.log_file})")

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
