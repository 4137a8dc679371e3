"""What every Engine backend must honour, checked the same way for each (vLLM, OpenAI-compatible)."""

from __future__ import annotations

import json
from pathlib import Path

from engine_pool.base import Chunk

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]


def joined(chunks: list[Chunk]) -> str:
    return "".join(chunk.text for chunk in chunks)


def check_top_logprobs(chunks: list[Chunk], k: int) -> None:
    """One dict of at most k alternatives per token, log-probabilities, the emitted token of each
    position, and under greedy sampling the emitted token is the likeliest alternative."""
    with_tokens = [chunk for chunk in chunks if chunk.top_logprobs is not None]
    assert with_tokens
    for n, chunk in enumerate(with_tokens):
        assert len(chunk.top_logprobs) == chunk.token_count
        for alternatives in chunk.top_logprobs:
            assert 1 <= len(alternatives) <= k
            assert all(value <= 0.0 for value in alternatives.values())
        # the emitted tokens, one per token, spell the chunk's text (but the end-of-turn token, a
        # special token the text leaves out)
        assert chunk.sampled is not None and len(chunk.sampled) == chunk.token_count
        if n < len(with_tokens) - 1:
            assert "".join(text for text, _ in chunk.sampled) == chunk.text
        for (text, logprob), alternatives in zip(chunk.sampled, chunk.top_logprobs):
            assert logprob <= 0.0
            # greedy: the emitted token is the likeliest alternative, with the same logprob
            best = max(alternatives, key=alternatives.get)
            assert best == text and abs(alternatives[best] - logprob) < 1e-4


def write_lora_adapter(folder: Path, *, rank: int = 8, scale: float = 0.1, seed: int = 1) -> Path:
    """A PEFT-format LoRA on q_proj/v_proj of SmolLM2-135M with seeded random weights.

    Not a trained adapter, but a real one to vLLM: it is read from disk, loaded into the engine and
    changes the answers, which is all the serving path needs to show.
    """
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer in range(30):
        for module, out_features in (("q_proj", 576), ("v_proj", 192)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(rank, 576, generator=generator) * scale
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(out_features, rank, generator=generator) * scale
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": rank,
        "lora_alpha": 2 * rank,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
        "base_model_name_or_path": "smollm2-135m-instruct",
    }
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder
