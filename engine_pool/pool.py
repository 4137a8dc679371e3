"""The engine pool: routes each contestant to its engine (and adapter) and referees one answer.

``EnginePool.answer`` is where the show's rules for a single answer live: the time limit, the
metrics, cancellation, and turning any engine failure into a DNF for that contestant alone, so
the show goes on. It also records the conditions the answer was made under (``AnswerConditions``:
engine, hardware, sampling, adapter, queue wait, concurrent load), for the fairness audit.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable, Literal

from .base import Adapter, Chunk, Engine, EngineError, GenerationRequest, Sampling
from .hardware import Hardware
from .metrics import MetricsRecorder, RequestMetrics

log = logging.getLogger("gavel.engine_pool")

AnswerStatus = Literal["done", "dnf", "timeout", "cancelled"]
OnChunk = Callable[[Chunk, int], Awaitable[None]]  # (chunk, tokens so far)


class StopAnswer(Exception):
    """Raised by an ``on_chunk`` callback to end the answer now with this reason: a DNF (the
    content filter withheld it) or, with ``status="done"``, a turn the director cut short. The
    engine request is aborted."""

    def __init__(self, reason: str, status: AnswerStatus = "dnf"):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Route:
    engine: str
    adapter: Adapter | None = None
    system_prompt: str | None = None


QueueWaitSource = Literal["scheduler", "first_token", "none"]
CLOCK_SLACK_S = 0.005
UNKNOWN_HARDWARE = Hardware("unknown", "unknown", 0)


@dataclass
class AnswerConditions:
    """What one answer was made under, as far as this process can measure it.

    queue_wait_s: from the pool submitting the request to the engine first scheduling it. Source
    "scheduler": the engine reported when it scheduled it (vLLM); "first_token": the backend does
    not say (remote servers), so the wait is bounded by the TTFT, which is given instead (it
    includes the prefill); "none": no token came. load_at_start / load_max: other answers running
    on the same engine from this process when it was submitted, and the most at any moment during.
    """

    engine: str
    hardware: Hardware
    sampling: Sampling
    adapter: str | None
    queue_wait_s: float | None
    queue_wait_source: QueueWaitSource
    load_at_start: int
    load_max: int


@dataclass
class Answer:
    text: str
    status: AnswerStatus
    reason: str
    metrics: RequestMetrics
    conditions: AnswerConditions
    engine: str = ""
    faulted: bool = False  # the engine failed or ran out of time (not a filter's or director's stop)


class _InFlight:
    """The answers running on one engine, each with the most others it has run beside."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}

    def enter(self, key: int) -> int:
        others = len(self.peaks)
        for running in self.peaks:
            self.peaks[running] = max(self.peaks[running], others)
        self.peaks[key] = others
        return others

    def leave(self, key: int) -> int:
        return self.peaks.pop(key)


def with_persona(system_prompt: str, messages: list[dict]) -> list[dict]:
    """The contestant's own system prompt first. A stage's system message (a debate's rules) is
    joined to it rather than sent as a second one: chat templates and small models expect one."""
    if not system_prompt:
        return messages
    if messages and messages[0]["role"] == "system" and isinstance(messages[0]["content"], str):
        return [{"role": "system", "content": f"{system_prompt}\n\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": system_prompt}, *messages]


class EnginePool:
    def __init__(self, engines: dict[str, Engine], routes: dict[str, Route]):
        for contestant, route in routes.items():
            if route.engine not in engines:
                raise ValueError(f"contestant {contestant!r} routed to unknown engine {route.engine!r}")
        self.engines = engines
        self.routes = routes
        self.ready = asyncio.Event()
        self.start_errors: dict[str, str] = {}
        # Called with (engine name, answer) as each answer ends: the studio's /metrics.
        self.listeners: list[Callable[[str, Answer], None]] = []
        self._in_flight = {name: _InFlight() for name in engines}
        self._request_numbers = itertools.count()

    def in_flight(self, engine: str) -> int:
        return len(self._in_flight[engine].peaks)

    def hardware(self, engine: str) -> Hardware:
        describe = getattr(self.engines[engine], "hardware", None)
        return describe() if describe is not None else UNKNOWN_HARDWARE

    async def start(self) -> None:
        """Start every engine; one that fails is recorded, its contestants will DNF."""

        async def start_one(name: str, engine: Engine) -> None:
            try:
                await engine.start()
                log.info("engine %s ready", name)
            except Exception as exc:  # an engine that cannot start must not stop the show
                log.exception("engine %s failed to start", name)
                self.start_errors[name] = f"{type(exc).__name__}: {exc}"

        await asyncio.gather(*(start_one(n, e) for n, e in self.engines.items()))
        self.ready.set()

    async def health(self, timeout_s: float = 1.0) -> dict[str, bool]:
        """Each engine's health; one that does not answer within ``timeout_s`` (hung) is unhealthy,
        and never holds up the answer (the director's panel polls this every 2 s)."""

        async def one(name: str, engine: Engine) -> bool:
            if name in self.start_errors:
                return False
            try:
                async with asyncio.timeout(timeout_s):
                    return bool(await engine.healthy())
            except Exception:
                return False

        names = list(self.engines)
        return dict(zip(names, await asyncio.gather(*(one(n, self.engines[n]) for n in names))))

    async def close(self) -> None:
        await asyncio.gather(*(e.close() for e in self.engines.values()), return_exceptions=True)

    async def answer(
        self,
        contestant: str,
        messages: list[dict[str, str]],
        sampling: Sampling,
        time_limit_s: float,
        on_chunk: OnChunk | None = None,
    ) -> Answer:
        route = self.routes[contestant]
        messages = with_persona(route.system_prompt, messages)
        request = GenerationRequest(
            request_id=f"{contestant}-{uuid.uuid4().hex[:12]}",
            messages=messages,
            sampling=sampling,
            adapter=route.adapter,
            contestant=contestant,
        )
        recorder = MetricsRecorder()
        parts: list[str] = []
        status: AnswerStatus = "done"
        reason, faulted = "", False
        engine = self.engines[route.engine]
        in_flight, number = self._in_flight[route.engine], next(self._request_numbers)
        submitted, scheduled_at = time.monotonic(), None
        load_at_start = in_flight.enter(number)
        try:
            if route.engine in self.start_errors:
                raise EngineError(f"engine {route.engine} did not start: {self.start_errors[route.engine]}")
            async with asyncio.timeout(time_limit_s):
                stream = engine.stream(request)
                try:
                    async for chunk in stream:
                        if scheduled_at is None:
                            scheduled_at = chunk.scheduled_at
                        recorder.on_chunk(chunk.token_count)
                        parts.append(chunk.text)
                        if on_chunk is not None:
                            await on_chunk(chunk, recorder.metrics.output_tokens)
                finally:
                    aclose = getattr(stream, "aclose", None)
                    if aclose is not None:
                        await aclose()  # aborts the request in the engine
        except TimeoutError:
            status, reason, faulted = "timeout", f"no complete answer within {time_limit_s:g}s", True
        except StopAnswer as exc:
            status, reason = exc.status, str(exc)
        except EngineError as exc:
            status, reason, faulted = "dnf", str(exc), True
            log.warning("%s DNF: %s", contestant, exc)
        except Exception as exc:  # any backend bug ends this answer, not the show
            status, reason, faulted = "dnf", f"engine failure: {type(exc).__name__}: {exc}", True
            log.exception("%s DNF", contestant)
        finally:
            load_max = in_flight.leave(number)
        metrics = recorder.finish()
        scheduled_after = None if scheduled_at is None else scheduled_at - submitted
        # Scheduled before it was sent, or after its first token: the engine's clock is not this
        # machine's (an engine core on another node), so its time says nothing here.
        if scheduled_after is not None and metrics.ttft is not None and -CLOCK_SLACK_S <= scheduled_after <= metrics.ttft + CLOCK_SLACK_S:
            wait, source = max(0.0, scheduled_after), "scheduler"
        elif metrics.ttft is not None:
            wait, source = metrics.ttft, "first_token"
        else:
            wait, source = None, "none"
        conditions = AnswerConditions(
            engine=route.engine,
            hardware=self.hardware(route.engine),
            sampling=sampling,
            adapter=route.adapter.name if route.adapter else None,
            queue_wait_s=wait,
            queue_wait_source=source,
            load_at_start=load_at_start,
            load_max=load_max,
        )
        answer = Answer("".join(parts), status, reason, metrics, conditions, route.engine, faulted)
        for listener in self.listeners:
            listener(route.engine, answer)
        return answer
