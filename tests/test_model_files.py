"""Model folders from the offline GGUF: one real conversion into a private cache, then checks on it."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from engine_pool.model_files import MARKER_FILE, MODEL_REGISTRY, SMOLLM2_NAME, find_smollm2_gguf, prepare_model, resolve_model


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gavel-cache")


@pytest.fixture(scope="module")
def prepared(cache):
    return prepare_model(cache, progress=False)


def test_prepare_is_idempotent(cache, prepared):
    assert prepared == cache / "models" / SMOLLM2_NAME
    started = time.perf_counter()
    again = prepare_model(cache, progress=False)
    elapsed = time.perf_counter() - started
    assert again == prepared
    assert elapsed < 1.0, f"second prepare took {elapsed:.2f} s; it should only check the marker"
    # Nothing left over from the temporary folder the conversion wrote into.
    assert sorted(p.name for p in prepared.parent.iterdir() if p.is_dir()) == [SMOLLM2_NAME]


def test_config_is_plain_float32_llama(prepared):
    config = json.loads((prepared / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["torch_dtype"] == "float32"
    assert config["model_type"] == "llama"
    assert config["tie_word_embeddings"] is True


def test_weights_are_float32_safetensors_without_lm_head(prepared):
    from safetensors import safe_open

    with safe_open(str(prepared / "model.safetensors"), framework="pt") as weights:
        names = set(weights.keys())
        embeddings = weights.get_tensor("model.embed_tokens.weight")
        dtypes = {str(weights.get_slice(name).get_dtype()) for name in names}
    assert "lm_head.weight" not in names
    assert tuple(embeddings.shape) == (49152, 576)
    assert dtypes == {"F32"}
    assert sum(name.endswith("self_attn.q_proj.weight") for name in names) == 30


def test_tokenizer_keeps_its_chat_template(prepared):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepared)
    assert "<|im_start|>" in (tokenizer.chat_template or "")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n")
    assert tokenizer.eos_token == "<|im_end|>"


def test_converted_model_answers_sanely(prepared):
    """The folder loads as a plain HF model (embeddings re-tied) and still knows its geography."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepared)
    model = AutoModelForCausalLM.from_pretrained(prepared, dtype=torch.float32).eval()
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, tokenize=False
    )
    ids = torch.tensor([tokenizer.encode(text, add_special_tokens=False)])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=10, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids.shape[1] :])


def test_marker_records_the_source_hash(prepared):
    marker = json.loads((prepared / MARKER_FILE).read_text())
    source = find_smollm2_gguf()
    assert marker["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert marker["files"]["model.safetensors"] == (prepared / "model.safetensors").stat().st_size


def test_resolve_model(cache, prepared, tmp_path):
    assert MODEL_REGISTRY[SMOLLM2_NAME] is prepare_model
    assert resolve_model(SMOLLM2_NAME, cache_dir=cache) == prepared
    assert resolve_model(str(tmp_path)) == tmp_path
    assert resolve_model(tmp_path) == tmp_path
    with pytest.raises(ValueError, match=SMOLLM2_NAME):
        resolve_model("no-such-model")
    with pytest.raises(ValueError, match="not a directory"):
        resolve_model(tmp_path / "missing")


def test_partial_folder_is_rebuilt(cache, prepared):
    """A crash mid-copy (a truncated weights file) is noticed and the folder rebuilt."""
    weights = prepared / "model.safetensors"
    size = weights.stat().st_size
    with open(weights, "r+b") as handle:
        handle.truncate(size // 2)
    rebuilt = prepare_model(cache, progress=False)
    assert rebuilt == prepared
    assert weights.stat().st_size == size
    started = time.perf_counter()
    assert prepare_model(cache, progress=False) == prepared
    assert time.perf_counter() - started < 1.0
