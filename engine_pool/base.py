"""The ``Engine`` protocol: what the show needs from any model server.

An engine turns chat messages into a stream of text chunks. It knows nothing about contestants,
time limits or metrics: the pool (``engine_pool.pool``) wraps every request with those, so each
backend stays a thin adapter over its server's own streaming API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator, Protocol, runtime_checkable


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters sent identically to every contestant of a question."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 64
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # top-k alternatives per token, where the backend supports it


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter served on top of the engine's base model (vLLM ``LoRARequest``)."""

    name: str
    path: str
    int_id: int  # vLLM wants a stable positive integer per adapter


@dataclass
class Chunk:
    """Newly generated text, as the engine delivered it (one or more tokens)."""

    text: str
    token_count: int  # tokens in this chunk
    top_logprobs: list[dict[str, float]] | None = None  # per token: alternative -> logprob
    # per token: (its text, its logprob) — what was emitted, which under sampling may rank below
    # every alternative; given with top_logprobs
    sampled: list[tuple[str, float]] | None = None
    # When the engine first scheduled the request (time.monotonic(), one clock for every process
    # on a Linux machine): on the first chunk, from backends that report it (vLLM's scheduler).
    scheduled_at: float | None = None


@dataclass
class GenerationRequest:
    request_id: str
    messages: list[dict[str, str]]  # OpenAI-style chat messages
    sampling: Sampling = field(default_factory=Sampling)
    adapter: Adapter | None = None
    contestant: str = ""  # who asks (for logs, and for the replay engine's recorded answers)


class EngineError(RuntimeError):
    """The engine could not serve a request (crashed, refused, unreachable)."""


@runtime_checkable
class Engine(Protocol):
    name: str

    async def start(self) -> None:
        """Load the model / connect. Idempotent."""

    def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        """Yield chunks as they are generated. Cancelling the consumer aborts the request."""

    async def healthy(self) -> bool:
        """True if the engine can take requests now."""

    async def close(self) -> None:
        """Release the model / connections. Idempotent."""

    # Optional: ``hardware() -> engine_pool.hardware.Hardware`` says what the engine runs on
    # (the fairness record); an engine without it is recorded as "unknown".
