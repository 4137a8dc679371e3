"""Attention heatmaps on request, off the hot path.

The director asks for one answer's heatmap (the ``explain`` command), or the script asks for the
winner of every speed question (``explain.auto_winner``). The pass runs in one worker process of
its own, at the lowest CPU priority and on one thread, so token streaming on the engine never
waits for it; the studio's event loop only awaits a future. Each answer's matrix is computed at
most once: it is kept in the data dir under a key of everything that determines it (model,
adapter, messages, answer, aggregate), and a second request is served from there.

Only what aired as the model said it is explained: an answer the content filter changed, or one
the director dumped, has no heatmap (its tokens would show what never aired).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from core import events as ev
from engine_pool.attention import AttentionError, AttentionMap, check_aggregate
from engine_pool.pool import EnginePool

log = logging.getLogger("gavel.explain")
KEY_CHARS = 24


@dataclass
class AnswerRecord:
    messages: list[dict[str, str]]  # as the engine got them (system prompt included)
    text: str
    explainable: str  # "" when it may be explained, else why not
    model_path: str | None
    adapter: str | None


def cache_key(record: AnswerRecord, aggregate: str, max_answer_tokens: int) -> str:
    adapter_stamp = None
    if record.adapter:
        weights = Path(record.adapter) / "adapter_model.safetensors"
        stat = weights.stat() if weights.exists() else None
        adapter_stamp = [record.adapter, stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0]
    blob = json.dumps([record.model_path, adapter_stamp, record.messages, record.text, aggregate, max_answer_tokens])
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_CHARS]


# -- the worker process ---------------------------------------------------------------------------

_explainers: dict[tuple[str, int], object] = {}


def _worker_start() -> None:
    os.nice(19)  # the engine's workers come first, always
    import torch

    torch.set_num_threads(1)


def _worker_explain(model_path: str, max_answer_tokens: int, messages, text: str, adapter: str | None, aggregate: str, out: str) -> dict:
    from engine_pool.attention import AttentionExplainer

    explainer = _explainers.get((model_path, max_answer_tokens))
    if explainer is None:
        explainer = _explainers[(model_path, max_answer_tokens)] = AttentionExplainer(model_path, max_answer_tokens)
    amap = explainer.explain(messages, text, adapter, aggregate)
    amap.save(Path(out))
    return {"seconds": amap.seconds, "prompt_tokens": amap.question[1] - amap.question[0], "answer_tokens": amap.answer_tokens}


# -- the desk in the studio -----------------------------------------------------------------------


class ExplainDesk:
    def __init__(
        self,
        cache_dir: Path | None,
        pool: EnginePool,
        publish: Callable[..., Awaitable[None]],
        aggregate: str = "mean",
        max_answer_tokens: int = 256,
    ):
        self.cache_dir = cache_dir
        self.pool = pool
        self.publish = publish
        self.aggregate = aggregate
        self.max_answer_tokens = max_answer_tokens
        self.records: dict[tuple[str, str], AnswerRecord] = {}
        self._working: dict[str, asyncio.Task] = {}
        self._executor: ProcessPoolExecutor | None = None

    def record(self, question_id: str, contestant: str, messages: list[dict[str, str]], aired: str, raw: str, status: str) -> None:
        """An answer finished on air: remember what the heatmap would need."""
        route = self.pool.routes.get(contestant)
        if route is None:
            return
        if route.system_prompt:
            messages = [{"role": "system", "content": route.system_prompt}, *messages]
        engine = self.pool.engines.get(route.engine)
        model_path = getattr(engine, "model_path", None)
        why_not = ""
        if model_path is None:
            why_not = f"engine {route.engine} has no local weights to explain with"
        elif aired != raw:
            why_not = "the content filter changed this answer on air"
        elif not raw.strip():
            why_not = f"the answer is empty ({status})"
        adapter = route.adapter.path if route.adapter else None
        self.records[(question_id, contestant)] = AnswerRecord(messages, raw, why_not, str(model_path) if model_path else None, adapter)

    def forget(self, question_id: str, contestant: str, reason: str) -> None:
        """The director dumped the answer: it may not be explained either."""
        record = self.records.get((question_id, contestant))
        if record is not None:
            record.explainable = reason

    def path_of(self, key: str) -> Path | None:
        if self.cache_dir is None or len(key) != KEY_CHARS or not all(c in "0123456789abcdef" for c in key):
            return None
        path = self.cache_dir / f"{key}.npz"
        return path if path.is_file() else None

    async def request(self, question_id: str, contestant: str, aggregate: str | None = None) -> tuple[bool, bool, str]:
        """Ask for a heatmap; returns at once (the result is an ``attention`` event)."""
        aggregate = aggregate or self.aggregate
        try:
            check_aggregate(aggregate)
        except AttentionError as exc:
            return False, False, str(exc)
        if self.cache_dir is None:
            return False, False, "attention heatmaps need the studio's data dir"
        record = self.records.get((question_id, contestant))
        if record is None:
            return False, False, f"no answer by {contestant!r} to {question_id!r} on record in this studio run"
        if record.explainable:
            return False, False, f"no heatmap: {record.explainable}"
        key = cache_key(record, aggregate, self.max_answer_tokens)
        if key in self._working:
            return True, False, "already computing"
        base = {"question_id": question_id, "contestant": contestant, "key": key, "aggregate": aggregate}
        cached = self.path_of(key)
        if cached is not None:
            amap = AttentionMap.load(cached)
            await self._announce(base, amap.question[1] - amap.question[0], amap.answer_tokens, 0.0)
            return True, False, "served from the cache"
        await self.publish(ev.Attention(data=ev.AttentionData(**base, status="computing")))
        self._working[key] = asyncio.create_task(self._compute(record, base))
        return True, True, ""

    async def _compute(self, record: AnswerRecord, base: dict) -> None:
        key = base["key"]
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            if self._executor is None:
                self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start)
            result = await asyncio.get_running_loop().run_in_executor(
                self._executor,
                _worker_explain,
                record.model_path,
                self.max_answer_tokens,
                record.messages,
                record.text,
                record.adapter,
                base["aggregate"],
                str(self.cache_dir / f"{key}.npz"),
            )
            await self._announce(base, result["prompt_tokens"], result["answer_tokens"], result["seconds"])
            log.info("attention for %s on %s ready in %.2fs", base["contestant"], base["question_id"], result["seconds"])
        except Exception as exc:  # a failed heatmap is a note for the director, never a stop
            log.warning("attention for %s on %s failed: %s", base["contestant"], base["question_id"], exc)
            await self.publish(ev.Attention(data=ev.AttentionData(**base, status="failed", reason=f"{type(exc).__name__}: {exc}")))
        finally:
            self._working.pop(key, None)

    async def _announce(self, base: dict, prompt_tokens: int, answer_tokens: int, seconds: float) -> None:
        await self.publish(
            ev.Attention(
                data=ev.AttentionData(
                    **base,
                    status="ready",
                    prompt_tokens=prompt_tokens,
                    answer_tokens=answer_tokens,
                    seconds=round(seconds, 3),
                )
            )
        )

    async def close(self) -> None:
        for task in list(self._working.values()):
            task.cancel()
        await asyncio.gather(*self._working.values(), return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
