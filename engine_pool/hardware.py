"""What an engine runs on, for the fairness record: device kind, its name, how many are used.

A local engine (vLLM in this process's children) runs on this machine: on its accelerators as
vLLM's platform names them (engine_pool/vllm_engine.py), or on the CPU named in ``/proc/cpuinfo``. A remote engine's hardware is not visible from here; it is
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
def cpu_hardware() -> Hardware:
    """This machine's CPU, all its cores."""
    return Hardware("cpu", _cpu_name(), os.cpu_count() or 1)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"
