"""Peak memory and cold start of the demo show: studio + vLLM engine + Redis, together.

Runs `gavel demo --headless` as a child, samples the proportional set size (PSS: shared pages
split between processes, so the sum is honest) of its whole process tree every 0.2 s, and prints
the peak per component and in total against the 6 GiB target, plus the cold start to the first
token on air from the demo's own summary. The KV cache size is whatever the demo script sets
(`kv_cache_gib`), printed alongside.

    .venv/bin/python bench/demo_footprint.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
TARGET_GIB = 6.0


def component(proc: psutil.Process) -> str:
    try:
        cmd = " ".join(proc.cmdline())
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if "redis-server" in cmd or name == "redis-server":
        return "redis"
    if "studio.cli" in cmd:
        return "studio (+vLLM frontend)"
    if "EngineCore" in name or "EngineCore" in cmd:
        return "vLLM engine core"
    if "Worker" in name or "spawn_main" in cmd:
        return "vLLM worker / helper"
    return name


def sample(root: psutil.Process) -> dict[str, int]:
    usage: dict[str, int] = defaultdict(int)
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return usage
    for proc in procs:
        try:
            usage[component(proc)] += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    script = REPO / "show_scripts" / "demo.yaml"
    kv = yaml.safe_load(script.read_text())["engines"]["local"].get("kv_cache_gib")
    with tempfile.TemporaryDirectory() as tmp:
        summary_path = Path(tmp) / "summary.json"
        cmd = [
            sys.executable,
            "-m",
            "studio.cli",
            "demo",
            "--headless",
            "--summary",
            str(summary_path),
            "--port",
            str(args.port),
            "--data-dir",
            str(Path(tmp) / "data"),
        ]
        started = time.monotonic()
        child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root = psutil.Process(child.pid)
        peak_total, peak_parts = 0, {}
        while child.poll() is None:
            parts = sample(root)
            total = sum(parts.values())
            if total > peak_total:
                peak_total, peak_parts = total, dict(parts)
            time.sleep(0.2)
        wall = time.monotonic() - started
        if child.returncode != 0:
            print(f"the demo failed with exit status {child.returncode}", file=sys.stderr)
            return 1
        summary = json.loads(summary_path.read_text())
    gib = 1024**3
    print(f"demo show: {summary['status']} in {wall:.1f} s; KV cache {kv} GiB (kv_cache_gib in {script.name})")
    for name, value in sorted(peak_parts.items(), key=lambda kv_: -kv_[1]):
        print(f"  peak PSS {name:<26} {value / gib:6.2f} GiB")
    print(f"peak memory, all processes: {peak_total / gib:.2f} GiB = {peak_total / gib / TARGET_GIB:.2f} x the {TARGET_GIB:g} GiB target")
    print(f"cold start to first token on air: {summary['cold_start_to_first_token_s']} s (model already converted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
