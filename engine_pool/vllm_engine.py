"""The ``Engine`` protocol on vLLM's async engine (v1 ``AsyncLLM``).

The frontend (request bookkeeping, detokenizing) runs in this process on the caller's event loop;
the engine core and its CPU worker run in child processes that vLLM spawns, so a crash there shows
up here as a dead engine (``AsyncLLM.errored``) rather than taking the studio down.

Notes on vLLM 0.32 (CPU build) that shape this module:

- ``VLLM_PLUGINS`` must be set (empty) before vLLM is imported: ms-swift registers a plugin that
  imports torchvision, which the CPU stack does not carry. ``VLLM_CPU_NUM_OF_RESERVED_CPU=0`` lets
  the worker use every core (on 2 cores, reserving one halves the speed).
- The KV cache size on CPU is ``CacheConfig.kv_cache_memory_bytes``. The legacy env variable
  ``VLLM_CPU_KVCACHE_SPACE`` (whole GiB only) overrides it when set, at config time in this
  process. The constructor's ``kv_cache_gib`` is the explicit choice here, so the variable is
  hidden while the config is built and the size is passed in bytes (fractions of a GiB work).
- With eager execution and an explicit KV size the CPU worker skips its warm-up pass.
- Passing raw prompts to ``AsyncLLM.generate`` is deprecated; prompts are rendered through the
  engine's own renderer (``render_cmpl_async``) from the token ids of the chat template.
- A LoRA adapter that cannot be loaded (bad path, wrong rank) kills the engine core when it is
  first met inside a generation step; ``add_lora`` beforehand turns that into one failed request.
- ``AsyncLLM.generate`` aborts its request when its generator is closed or cancelled; the abort
  here is the same call made explicitly, so a consumer that walks away early never leaves a
  request running in the shared batch.
- When the scheduler first scheduled a request (its queue wait, for the fairness record) is on
  ``RequestOutput.metrics`` only with stats on; a stat logger that does nothing turns them on
  without vLLM's default loggers (the 5 s log lines, its global Prometheus registry).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from .base import Chunk, EngineError, GenerationRequest, Sampling
from .hardware import Hardware, cpu_hardware

os.environ.setdefault("VLLM_PLUGINS", "")
os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")

GIB = 1 << 30


@contextlib.contextmanager
def _without_env(name: str) -> Iterator[None]:
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


class VllmEngine:
    """One base model (plus optional LoRA adapters) served by an in-process ``AsyncLLM``."""

    def __init__(
        self,
        name: str,
        model_path: str | os.PathLike[str],
        dtype: str = "float32",
        enforce_eager: bool = True,
        tensor_parallel_size: int = 1,
        pipeline_parallel_size: int = 1,
        max_model_len: int = 2048,
        kv_cache_gib: float = 1.0,
        enable_lora: bool = False,
        max_lora_rank: int = 16,
        max_loras: int = 4,
        seed: int = 0,
    ) -> None:
        if kv_cache_gib <= 0:
            raise ValueError("kv_cache_gib must be positive")
        self.name = name
        self.model_path = Path(model_path)
        self.dtype = dtype
        self.enforce_eager = enforce_eager
        self.tensor_parallel_size = tensor_parallel_size
        self.pipeline_parallel_size = pipeline_parallel_size
        self.max_model_len = max_model_len
        self.kv_cache_gib = kv_cache_gib
        self.enable_lora = enable_lora
        self.max_lora_rank = max_lora_rank
        self.max_loras = max_loras
        self.seed = seed
        self._engine: Any = None  # vllm.v1.engine.async_llm.AsyncLLM once started
        self._tokenizer: Any = None
        self._start_lock = asyncio.Lock()
        self._closed = False
        self._active: set[str] = set()  # vLLM request ids of the streams now running
        self._hardware: Hardware | None = None

    def __repr__(self) -> str:
        return f"VllmEngine(name={self.name!r}, model_path={str(self.model_path)!r})"

    def engine_args(self) -> Any:
        """The ``AsyncEngineArgs`` this engine starts with."""
        from vllm.engine.arg_utils import AsyncEngineArgs

        return AsyncEngineArgs(
            model=str(self.model_path),
            served_model_name=self.name,
            dtype=self.dtype,
            enforce_eager=self.enforce_eager,
            tensor_parallel_size=self.tensor_parallel_size,
            pipeline_parallel_size=self.pipeline_parallel_size,
            max_model_len=self.max_model_len,
            kv_cache_memory_bytes=int(self.kv_cache_gib * GIB),
            enable_lora=self.enable_lora,
            max_lora_rank=self.max_lora_rank,
            max_loras=self.max_loras,
            seed=self.seed,
            disable_log_stats=True,  # the pool measures per request; the 5 s log lines are noise
        )

    async def start(self) -> None:
        async with self._start_lock:
            if self._engine is not None:
                return
            if self._closed:
                raise EngineError(f"engine {self.name!r} was closed; make a new one")
            if not self.model_path.is_dir():
                raise EngineError(f"engine {self.name!r}: model folder {self.model_path} does not exist")
            try:
                # Building the engine blocks for tens of seconds (it spawns the engine core and
                # waits for the model to load), so it runs off the event loop. AsyncLLM is made
                # for this: its output handler starts on the first request, in the caller's loop.
                # The engine is handed back through a list, not as the thread's return value:
                # the executor's futures keep their result alive, and an AsyncLLM that outlives
                # close() runs its __del__ shutdown again at interpreter exit, noisily.
                built: list[Any] = []
                await asyncio.to_thread(lambda: built.append(self._build()))
            except Exception as error:
                raise EngineError(f"engine {self.name!r} failed to start on {self.model_path}: {error}") from error
            engine = built.pop()
            if self._closed:  # close() was called while the engine was loading
                engine.shutdown()
                raise EngineError(f"engine {self.name!r} was closed while starting")
            self._engine = engine
            self._tokenizer = engine.get_tokenizer()

    def _build(self) -> Any:
        from vllm.usage.usage_lib import UsageContext
        from vllm.v1.engine.async_llm import AsyncLLM

        args = self.engine_args()
        with _without_env("VLLM_CPU_KVCACHE_SPACE"):
            config = args.create_engine_config(UsageContext.ENGINE_CONTEXT)
        return AsyncLLM.from_vllm_config(
            config,
            usage_context=UsageContext.ENGINE_CONTEXT,
            enable_log_requests=False,
            disable_log_stats=args.disable_log_stats,
            stat_loggers=[_request_times_only()],
        )

    def hardware(self) -> Hardware:
        """What this engine runs on, as vLLM's platform says (NVML on CUDA: no CUDA context is made
        in this process, which would break the workers vLLM forks)."""
        if self._hardware is None:
            from vllm.platforms import current_platform

            if current_platform.is_cpu():
                self._hardware = cpu_hardware()
            else:
                used = min(self.tensor_parallel_size * self.pipeline_parallel_size, current_platform.device_count())
                self._hardware = Hardware(current_platform.device_type, current_platform.get_device_name(0), used)
        return self._hardware

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            raise EngineError(f"engine {self.name!r} is not started")
        return self._tokenizer

    def prompt_token_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of ``messages`` through the model's chat template, ready for the answer."""
        tokenizer = self.tokenizer
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # The template already writes the special tokens; adding them again would double the BOS.
        return list(tokenizer.encode(text, add_special_tokens=False))

    @staticmethod
    def sampling_params(sampling: Sampling) -> Any:
        from vllm.sampling_params import RequestOutputKind, SamplingParams

        return SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            stop=list(sampling.stop) or None,
            logprobs=sampling.logprobs,
            output_kind=RequestOutputKind.DELTA,
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        if request.adapter is not None and not self.enable_lora:
            raise EngineError(f"engine {self.name!r} is configured without enable_lora; cannot serve adapter {request.adapter.name!r}")
        engine = self._engine
        if engine is None or self._closed:
            raise EngineError(f"engine {self.name!r} is not started")
        if engine.errored:
            raise EngineError(f"engine {self.name!r} is dead: {engine.dead_error}")
        lora_request = None
        if request.adapter is not None:
            from vllm.lora.request import LoRARequest

            lora_request = LoRARequest(request.adapter.name, request.adapter.int_id, request.adapter.path)
        try:
            from vllm.inputs import TokensPrompt

            params = self.sampling_params(request.sampling)
            token_ids = self.prompt_token_ids(request.messages)
            renderer = engine.renderer
            (prompt,) = await renderer.render_cmpl_async([TokensPrompt(prompt_token_ids=token_ids)], renderer.default_chat_tok_params)
        except Exception as error:
            raise EngineError(f"engine {self.name!r}: bad request {request.request_id!r}: {error}") from error
        if lora_request is not None:
            # An adapter that fails to load inside a generation step kills the whole engine core
            # (vLLM 0.32: EngineDeadError for every contestant). Loading it through add_lora first
            # fails just this request instead; for a loaded adapter it only refreshes its LRU slot.
            try:
                await engine.add_lora(lora_request)
            except Exception as error:
                raise EngineError(
                    f"engine {self.name!r}: cannot load adapter {request.adapter.name!r} from {request.adapter.path}: {error}"
                ) from error

        top_k = request.sampling.logprobs
        # vLLM aborts by the id it was given, and aborts every request sharing it: the pool may
        # well send one question id to several contestants on this engine, so each stream gets
        # an id of its own.
        vllm_id = f"{request.request_id}-{uuid.uuid4().hex[:8]}"
        outputs = engine.generate(prompt, params, vllm_id, lora_request=lora_request)
        self._active.add(vllm_id)
        finished = False
        scheduled_at = None  # reported once, on the first chunk
        try:
            async for output in outputs:
                finished = output.finished
                completion = output.outputs[0]
                if finished and str(completion.finish_reason) in ("abort", "error"):
                    reason = "the engine is closing" if self._closed else f"finish_reason={completion.finish_reason}"
                    raise EngineError(f"engine {self.name!r}: request {request.request_id!r} was cut off: {reason}")
                count = len(completion.token_ids)
                if not completion.text and count == 0:
                    continue
                top_logprobs = sampled = None
                if top_k is not None and completion.logprobs is not None:
                    top_logprobs = [_top_alternatives(position, top_k) for position in completion.logprobs]
                    sampled = [_sampled(position, token_id) for position, token_id in zip(completion.logprobs, completion.token_ids)]
                chunk = Chunk(completion.text, count, top_logprobs, sampled)
                if scheduled_at is None:
                    stats = output.metrics
                    scheduled_at = chunk.scheduled_at = getattr(stats, "scheduled_ts", None) or None
                yield chunk
        except (asyncio.CancelledError, GeneratorExit, EngineError):
            raise
        except Exception as error:
            raise EngineError(f"engine {self.name!r}: request {request.request_id!r} failed: {_describe(error)}") from error
        finally:
            self._active.discard(vllm_id)
            # The consumer stopped early (break, cancel, aclose): stop the generation in the
            # engine too, or it keeps burning the shared batch for tokens nobody will read.
            await outputs.aclose()
            if not finished:
                with contextlib.suppress(Exception):
                    await engine.abort(vllm_id)

    @property
    def unfinished_requests(self) -> int:
        """Requests the engine is still working on (0 when idle or not started)."""
        engine = self._engine
        return 0 if engine is None else engine.get_num_unfinished_requests()

    async def healthy(self) -> bool:
        engine = self._engine
        if engine is None or self._closed:
            return False
        try:
            await engine.check_health()
        except Exception:
            return False
        return not engine.errored

    async def close(self) -> None:
        self._closed = True
        engine, self._engine = self._engine, None
        self._tokenizer = None
        if engine is None:
            return
        if self._active and not engine.errored:
            # Streams still running would otherwise wait forever: shutdown() stops the task that
            # feeds them. Aborting first hands each its final (aborted) output, so it ends with an
            # EngineError instead of hanging.
            with contextlib.suppress(Exception):
                await engine.abort(list(self._active))
            await asyncio.sleep(0)
        engine.shutdown()


def _request_times_only() -> Any:
    """A stat logger factory that records nothing: with one, vLLM keeps per-request times."""
    from vllm.v1.metrics.loggers import StatLoggerBase

    class RequestTimesOnly(StatLoggerBase):
        def __init__(self, vllm_config: Any, engine_index: int = 0) -> None:
            pass

        def record(self, scheduler_stats, iteration_stats, mm_cache_stats=None, engine_idx: int = 0) -> None:
            pass

        def log_engine_initialized(self) -> None:
            pass

    return RequestTimesOnly


def _describe(error: BaseException) -> str:
    """``Type: message``, following ``__cause__`` when vLLM wraps an error without a message."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if error.__cause__ is not None:
        text += f" ({_describe(error.__cause__)})"
    return text


def _sampled(position: Any, token_id: int) -> tuple[str, float]:
    """The emitted token's text and logprob (vLLM always includes it in the position's dict)."""
    logprob = position[token_id]
    text = logprob.decoded_token if logprob.decoded_token is not None else f"<{token_id}>"
    return text, logprob.logprob


def _top_alternatives(position: Any, k: int) -> dict[str, float]:
    """``{decoded text: logprob}`` of the ``k`` best tokens at one position.

    vLLM adds the sampled token to the top-k when it ranks below them; it is dropped here so every
    position holds at most ``k`` alternatives, as in the OpenAI API's ``top_logprobs``.
    """
    alternatives: dict[str, float] = {}
    if not position:
        return alternatives
    ranked = sorted(position.items(), key=lambda item: item[1].rank if item[1].rank is not None else 1 << 30)
    for token_id, logprob in ranked[:k]:
        text = logprob.decoded_token if logprob.decoded_token is not None else f"<{token_id}>"
        # Two ids can decode to the same text (byte fragments); keep the likelier one.
        if text not in alternatives:
            alternatives[text] = logprob.logprob
    return alternatives
