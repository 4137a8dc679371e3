"""``gavel contestants`` as a team's operator uses it, as real processes: a refused submission
names its problems and exits 2; an accepted one is listed; training shows a progress bar and posts
its progress into a show's event log in a real Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from store.event_log import EventLog

from .studio_harness import subprocess_env

REPO = Path(__file__).resolve().parent.parent
CONTESTANTS = [sys.executable, "-m", "studio.cli", "contestants"]


def gavel(*args, timeout=300):
    return subprocess.run([*CONTESTANTS, *map(str, args)], cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


def row(question, answer):
    return json.dumps({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})


def test_help_names_every_command():
    result = gavel("--help")
    assert result.returncode == 0
    for command in ("register", "list", "train", "qualify"):
        assert command in result.stdout


def test_a_refused_submission_exits_2_naming_each_problem(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(row("hi", "hello") + "\n{oops\n")
    result = gavel("register", "eve", "--name", "Eve", "--sft", data, "--store", tmp_path / "store")
    assert result.returncode == 2
    assert "bad.jsonl:2: not valid JSON" in result.stderr
    both = gavel("register", "eve", "--name", "Eve", "--sft", data, "--dpo", data, "--store", tmp_path / "store")
    assert both.returncode == 2 and "give exactly one of --adapter, --sft or --dpo" in both.stderr
    assert gavel("list", "--store", tmp_path / "store").stdout == ""


def test_train_shows_progress_and_posts_it_to_the_show(tmp_path, redis_url, show_id):
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(row(f"Name the show ({i})", "Gavel!") + "\n" for i in range(3)))
    store = tmp_path / "store"
    assert gavel("register", "bao", "--name", "Bao", "--sft", data, "--store", store).returncode == 0
    assert json.loads(gavel("list", "--store", store).stdout)["adapter_ready"] is False

    result = gavel(
        "train", "bao", "--steps", 1, "--max-length", 64, "--store", store, "--show", show_id, "--redis-url", redis_url, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training bao (sft)" in result.stderr and "1/1" in result.stderr  # the progress bar
    assert result.stdout.startswith("completed: 1 step")
    assert (store / "bao" / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads(gavel("list", "--store", store).stdout)["adapter_ready"] is True

    async def read():
        client = aioredis.Redis.from_url(redis_url)
        try:
            return [item.parse() for item in await EventLog(client, show_id).read("director")]
        finally:
            await client.aclose()

    logged = asyncio.run(read())
    progress = [e for e in logged if e.type == "training.progress"]
    assert [p.data.step for p in progress] == [0, 1] and progress[-1].data.loss > 0
    (finished,) = [e for e in logged if e.type == "training.finished"]
    assert (finished.data.status, finished.data.steps, finished.data.contestant) == ("completed", 1, "bao")
    assert logged[-1] == finished
