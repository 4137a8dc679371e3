"""Build the engine pool a show script describes."""

from __future__ import annotations

import os

from contestants.prepared_adapters import resolve_adapter
from core.script import OpenAIEngineSpec, ReplayEngineSpec, ShowScript, VllmEngineSpec
from engine_pool.base import Adapter, Engine
from engine_pool.pool import EnginePool, Route


def build_engine(name: str, spec, script: ShowScript, lora: bool) -> Engine:
    if isinstance(spec, VllmEngineSpec):
        from engine_pool.model_files import resolve_model
        from engine_pool.vllm_engine import VllmEngine

        model = spec.model if not spec.model.startswith((".", "/")) else str(script.resolve(spec.model))
        return VllmEngine(
            name=name,
            model_path=str(resolve_model(model)),
            dtype=spec.dtype,
            enforce_eager=spec.enforce_eager,
            tensor_parallel_size=spec.tensor_parallel_size,
            pipeline_parallel_size=spec.pipeline_parallel_size,
            max_model_len=spec.max_model_len,
            kv_cache_gib=spec.kv_cache_gib,
            enable_lora=spec.enable_lora or lora,
            max_lora_rank=spec.max_lora_rank,
        )
    if isinstance(spec, OpenAIEngineSpec):
        from engine_pool.openai_engine import OpenAIEngine

        api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        return OpenAIEngine(name=name, base_url=spec.base_url, model=spec.model, api_key=api_key, timeout_s=spec.timeout_s)
    if isinstance(spec, ReplayEngineSpec):
        from engine_pool.replay_engine import ReplayEngine

        return ReplayEngine.from_file(name, script.resolve(spec.file), spec.tokens_per_s)
    raise ValueError(f"engine {name}: unsupported kind {spec.kind!r}")


def build_pool(script: ShowScript) -> EnginePool:
    routes: dict[str, Route] = {}
    adapter_ids: dict[str, int] = {}
    for c in script.contestants:
        adapter = None
        if c.adapter:
            # prepared:<name> is trained by the contestants pipeline on first use, then cached.
            path = str(resolve_adapter(c.adapter, script.resolve(".")))
            adapter_ids.setdefault(path, len(adapter_ids) + 1)
            adapter = Adapter(name=c.id, path=path, int_id=adapter_ids[path])
        routes[c.id] = Route(engine=c.engine, adapter=adapter, system_prompt=c.system_prompt)
    needs_lora = {r.engine for r in routes.values() if r.adapter}
    engines = {name: build_engine(name, spec, script, name in needs_lora) for name, spec in script.engines.items()}
    return EnginePool(engines, routes)
