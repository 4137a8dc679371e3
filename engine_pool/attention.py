"""Attention heatmaps: which earlier tokens each token of an answer looked at.

Computed with transformers and eager attention (the only implementation that materialises the
weights) on the contestant's exact weights: the base model with its LoRA adapter merged in (the
adapter's deltas are added to the targeted weights for the pass and taken out again after, so one
loaded base serves every contestant). The prompt is the chat template over the same messages the
engine got; the answer is the aired text tokenized again (the ids vLLM sampled are not kept; for
text the model wrote itself they are the same in practice).

Memory stays bounded: the weights of each layer are folded into one tokens × tokens matrix by a
hook as the layer runs, so a pass never holds more than one layer's heads; answers are cut at
``max_answer_tokens``.

Aggregates: ``mean`` over heads and layers (rows sum to 1), ``max`` over heads and layers (each
row then renormalised to sum to 1, so it reads as shares), ``layer:N`` the mean over the heads of
layer N (0-based).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AGGREGATE = re.compile(r"^(mean|max|layer:\d{1,3})$")


class AttentionError(ValueError):
    """The heatmap cannot be computed (bad adapter, bad aggregate, no answer)."""


@dataclass
class AttentionMap:
    tokens: list[str]  # every token of prompt + answer, as text
    matrix: np.ndarray  # float32 [T, T]: row i = how token i's attention spread over tokens 0..i
    question: tuple[int, int]  # token range of the question (the last user message) in the prompt
    answer_start: int  # index of the first answer token
    aggregate: str
    seconds: float = 0.0

    @property
    def answer_tokens(self) -> int:
        return len(self.tokens) - self.answer_start

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            matrix=self.matrix,
            tokens=np.array(self.tokens, dtype=object),
            meta=np.array(
                json.dumps(
                    {"question": self.question, "answer_start": self.answer_start, "aggregate": self.aggregate, "seconds": self.seconds}
                )
            ),
        )
        tmp.replace(path)  # a crash mid-write never leaves a half file under the real name

    @classmethod
    def load(cls, path: Path) -> "AttentionMap":
        with np.load(path, allow_pickle=True) as f:  # our own cache file (object array of str)
            meta = json.loads(str(f["meta"]))
            return cls(list(f["tokens"]), f["matrix"], tuple(meta["question"]), meta["answer_start"], meta["aggregate"], meta["seconds"])


def check_aggregate(aggregate: str, layers: int | None = None) -> None:
    if not AGGREGATE.match(aggregate):
        raise AttentionError(f"aggregate: must be mean, max or layer:<n> (got {aggregate!r})")
    if layers is not None and aggregate.startswith("layer:") and int(aggregate[6:]) >= layers:
        raise AttentionError(f"aggregate: the model has layers 0..{layers - 1} (got {aggregate!r})")


class AttentionExplainer:
    """One base model loaded for attention passes; adapters are merged in per pass."""

    def __init__(self, model_path: str | Path, max_answer_tokens: int = 256):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_path = str(model_path)
        self.max_answer_tokens = max_answer_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, attn_implementation="eager", dtype=torch.float32)
        self.model.eval()
        self.layers = self.model.config.num_hidden_layers

    # -- the prompt and the answer as tokens ----------------------------------------------------

    def _tokens(self, messages: list[dict[str, str]], answer: str) -> tuple[list[int], tuple[int, int], int]:
        prompt = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        encoded = self.tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = list(encoded["input_ids"]), encoded["offset_mapping"]
        question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        start = prompt.rfind(question) if question else -1
        if start < 0:
            span = (0, len(ids))
        else:
            inside = [i for i, (a, b) in enumerate(offsets) if a < start + len(question) and b > start]
            span = (inside[0], inside[-1] + 1) if inside else (0, len(ids))
        answer_ids = self.tokenizer.encode(answer, add_special_tokens=False)[: self.max_answer_tokens]
        if not answer_ids:
            raise AttentionError("the answer is empty: nothing to explain")
        return ids + answer_ids, span, len(ids)

    # -- the pass -------------------------------------------------------------------------------

    def explain(self, messages: list[dict[str, str]], answer: str, adapter: str | None = None, aggregate: str = "mean") -> AttentionMap:
        import torch

        check_aggregate(aggregate, self.layers)
        ids, question, answer_start = self._tokens(messages, answer)
        started = time.perf_counter()
        folded: dict[str, torch.Tensor] = {}
        chosen_layer = int(aggregate[6:]) if aggregate.startswith("layer:") else None

        def fold(layer: int):
            def hook(_module, _inputs, output):
                weights = output[1]  # [batch, heads, T, T] with eager attention
                if weights is None:
                    raise AttentionError("the model returned no attention weights (eager attention is required)")
                w = weights[0].float()
                if aggregate == "mean":
                    folded["m"] = folded.get("m", 0) + w.mean(0) / self.layers
                elif aggregate == "max":
                    head_max = w.amax(0)
                    folded["m"] = head_max if "m" not in folded else torch.maximum(folded["m"], head_max)
                elif layer == chosen_layer:
                    folded["m"] = w.mean(0)

            return hook

        attention_modules = [layer.self_attn for layer in self.model.model.layers]
        handles = [module.register_forward_hook(fold(i)) for i, module in enumerate(attention_modules)]
        try:
            with merged_adapter(self.model, adapter), torch.inference_mode():
                self.model(torch.tensor([ids]), use_cache=False)
        finally:
            for handle in handles:
                handle.remove()
        matrix = folded["m"].numpy().astype(np.float32)
        if aggregate == "max":
            matrix = matrix / matrix.sum(axis=1, keepdims=True)
        tokens = [self.tokenizer.decode([i]) for i in ids]
        return AttentionMap(tokens, matrix, question, answer_start, aggregate, time.perf_counter() - started)


class merged_adapter:
    """Adds a PEFT-format LoRA adapter's deltas (scale · B·A) to the base weights for the block and
    restores the original weights after. ``None``: the base as it is."""

    def __init__(self, model, adapter: str | None):
        self.model, self.adapter = model, adapter
        self._saved: dict[str, object] = {}

    def __enter__(self):
        if self.adapter is None:
            return self
        import torch

        for name, delta in lora_deltas(Path(self.adapter)).items():
            try:
                module = self.model.get_submodule(name)
            except AttributeError:
                self.__exit__()
                raise AttentionError(f"adapter targets {name!r}, which the base model does not have") from None
            weight = module.weight
            if tuple(delta.shape) != tuple(weight.shape):
                self.__exit__()
                raise AttentionError(f"adapter delta for {name} is {tuple(delta.shape)}, the base weight {tuple(weight.shape)}")
            self._saved[name] = weight.data.clone()
            with torch.no_grad():
                weight.data += delta.to(weight.dtype)
        return self

    def __exit__(self, *exc):
        for name, original in self._saved.items():
            self.model.get_submodule(name).weight.data.copy_(original)
        self._saved.clear()


def lora_deltas(folder: Path) -> dict:
    """``{module name: scale · B @ A}`` (torch tensors) from a PEFT/ms-swift LoRA folder (safetensors only)."""
    from safetensors.torch import load_file

    config_path, weights_path = folder / "adapter_config.json", folder / "adapter_model.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise AttentionError(f"adapter {folder}: needs adapter_config.json and adapter_model.safetensors")
    config = json.loads(config_path.read_text())
    if config.get("use_dora"):
        raise AttentionError(f"adapter {folder}: DoRA adapters are not supported by the heatmap")
    rank = int(config["r"])
    alpha = float(config.get("lora_alpha", rank))
    scale = alpha / (rank**0.5) if config.get("use_rslora") else alpha / rank
    tensors = load_file(str(weights_path))
    deltas = {}
    for key, a in tensors.items():
        if ".lora_A." not in key:
            continue
        b = tensors.get(key.replace(".lora_A.", ".lora_B."))
        if b is None:
            raise AttentionError(f"adapter {folder}: {key} has no lora_B partner")
        name = key.split(".lora_A.")[0].removeprefix("base_model.model.")
        delta = (b.float() @ a.float()) * scale
        deltas[name] = delta.T if config.get("fan_in_fan_out") else delta
    if not deltas:
        raise AttentionError(f"adapter {folder}: no LoRA weights found")
    return deltas
