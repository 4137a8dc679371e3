"""What an engine runs on, for the fairness record: device kind, its name, how many are used.

A local engine (vLLM in this process's children) runs on this machine: the GPU torch sees, or the
CPU named in ``/proc/cpuinfo``. A remote engine's hardware is not visible from here; it is
recorded as ``remote`` with the server's address, so the record says what is not known.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Hardware:
    device: str  # cuda | cpu | remote | none (a replay engine: no model runs)
    name: str  # e.g. "NVIDIA H100 80GB HBM3", "AMD EPYC 7B13", "http://10.0.0.5:8000"
    count: int  # devices the engine uses (GPUs: tensor x pipeline parallel; CPU: cores)


@functools.cache
def _local_device() -> tuple[str, str, int]:
    try:
        import torch

        if torch.cuda.is_available():
            return "cuda", torch.cuda.get_device_name(0), torch.cuda.device_count()
    except ImportError:  # the studio runs without torch when every engine is remote
        pass
    return "cpu", _cpu_name(), os.cpu_count() or 1


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def local_hardware(devices_used: int = 1) -> Hardware:
    """This machine, as an engine using ``devices_used`` GPUs (all cores when on the CPU)."""
    device, name, available = _local_device()
    return Hardware(device, name, min(devices_used, available) if device == "cuda" else available)
