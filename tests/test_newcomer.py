"""A newcomer's first run: a failed start told in one line, and the helpers that play the README's
first command from the root of a fresh copy of the repository with no --data-dir
(tests/test_episode_on_air.py runs it once and watches it on air).

Every other test passes an absolute ``--data-dir``; the default (a relative ``data/demo-…``) once
made the embedded redis-server open its log file relative to its own ``--dir`` and the demo exit 3.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import redis

from contestants.show_events import show_redis_url
from store.embedded_redis import UNIX_SOCKET_PATH_MAX, EmbeddedRedis, socket_path_for

from .conftest import free_port

REPO = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "studio.cli"]  # run from the copy's root: the copy's own code


def fresh_copy(target: Path) -> Path:
    """The repository's files as a clone would have them (tracked and new, nothing ignored)."""
    listed = (
        subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def newcomer_env() -> dict[str, str]:
    """The shell a newcomer has: none of the variables the test suite sets for itself."""
    env = dict(os.environ)
    for name in ("VLLM_PLUGINS", "VLLM_CPU_NUM_OF_RESERVED_CPU", "REDIS_URL"):
        env.pop(name, None)
    return env


def test_a_data_dir_too_deep_for_a_unix_socket_still_gets_its_redis(tmp_path):
    deep = tmp_path / ("x" * 60) / ("y" * 60) / "show"
    assert len(str(deep / "redis.sock")) > UNIX_SOCKET_PATH_MAX
    server = EmbeddedRedis(deep)
    try:
        url = server.start()
        assert server.socket_path == socket_path_for(deep) and server.socket_path.parent != deep
        assert redis.Redis.from_url(url).ping()
        assert show_redis_url(deep, None) == url  # the contestants' tools find it from the data dir alone
        assert (deep / "redis.log").exists() and (deep / "appendonly.aof").exists()
    finally:
        server.stop()


def _start_failure(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([*GAVEL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def test_a_port_in_use_is_one_line_before_anything_starts(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = _start_failure(
            ["serve", str(REPO / "show_scripts/rehearsal.yaml"), "--port", str(port), "--data-dir", str(tmp_path / "d")],
            tmp_path,
            newcomer_env(),
        )
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"gavel: the studio did not start: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert not (tmp_path / "d" / "redis.sock").exists()  # nothing was started


def test_an_unreachable_redis_is_one_line(tmp_path):
    env = {**newcomer_env(), "REDIS_URL": f"redis://127.0.0.1:{free_port()}"}
    result = _start_failure(
        ["serve", str(REPO / "show_scripts/rehearsal.yaml"), "--port", str(free_port()), "--data-dir", "d"], tmp_path, env
    )
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gavel: the studio did not start: ") and "127.0.0.1" in last, result.stderr
    verbose = subprocess.run(
        [*GAVEL, "serve", str(REPO / "show_scripts/rehearsal.yaml"), "--port", str(free_port()), "--data-dir", "d", "--verbose"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verbose.returncode == 3 and "Traceback" in verbose.stderr


UNPLUGGED = """\
show: {id: unplugged, title: Nobody home}
engines:
  remote: {kind: openai, base_url: "http://127.0.0.1:9/v1", model: nobody, timeout_s: 2}
contestants:
  - {id: ada, name: Ada, engine: remote}
  - {id: bao, name: Bao, engine: remote, system_prompt: You are Bao.}
stages:
  - {kind: speed_qa, bank: BANK, questions: 1}
"""


def test_a_headless_show_whose_engine_did_not_start_fails_in_one_line(tmp_path):
    script = tmp_path / "show.yaml"
    script.write_text(UNPLUGGED.replace("BANK", str(REPO / "show_scripts/banks/demo.yaml")))
    result = subprocess.run(
        [
            *GAVEL,
            "demo",
            "--headless",
            "--script",
            str(script),
            "--summary",
            str(tmp_path / "s.json"),
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=tmp_path,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gavel: engine remote did not start: ") and "127.0.0.1:9" in last, result.stderr[-2000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status"] != "completed" and "remote" in summary["engine_errors"]
