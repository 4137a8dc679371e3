"""Attention heatmaps on the real SmolLM2-135M weights (transformers, eager attention): the matrix
covers prompt + answer, each row is a distribution over the tokens before it, a LoRA adapter
changes it (and the base comes back after), and bad adapters or aggregates are refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine_pool.attention import AttentionError, AttentionExplainer, AttentionMap
from engine_pool.model_files import resolve_model

from .engine_contract import write_lora_adapter

MESSAGES = [
    {"role": "system", "content": "You are a quiz contestant. Answer briefly and precisely."},
    {"role": "user", "content": "What is the capital of France?"},
]
ANSWER = "The capital of France is Paris."


@pytest.fixture(scope="module")
def explainer():
    return AttentionExplainer(resolve_model("smollm2-135m-instruct"), max_answer_tokens=48)


@pytest.fixture(scope="module")
def base_map(explainer):
    return explainer.explain(MESSAGES, ANSWER)


def test_the_matrix_covers_prompt_and_answer_and_each_row_is_a_distribution(explainer, base_map):
    amap = base_map
    tokens = len(amap.tokens)
    assert amap.matrix.shape == (tokens, tokens)
    assert amap.tokens[amap.answer_start :] and "".join(amap.tokens[amap.answer_start :]) == ANSWER
    assert "".join(amap.tokens[amap.question[0] : amap.question[1]]).strip() == "What is the capital of France?"
    assert np.allclose(amap.matrix.sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(np.triu(amap.matrix, k=1), 0.0)  # causal: no token looks ahead
    assert amap.aggregate == "mean" and amap.seconds > 0


@pytest.mark.parametrize("aggregate", ["max", "layer:0", "layer:29"])
def test_every_aggregate_gives_rows_that_sum_to_one(explainer, base_map, aggregate):
    amap = explainer.explain(MESSAGES, ANSWER, aggregate=aggregate)
    assert amap.matrix.shape == base_map.matrix.shape
    assert np.allclose(amap.matrix.sum(axis=1), 1.0, atol=1e-4)
    assert not np.allclose(amap.matrix, base_map.matrix, atol=1e-3)  # a different view of the same pass


def test_a_lora_adapter_changes_the_attention_and_the_base_comes_back(explainer, base_map, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora", scale=0.3)
    tuned = explainer.explain(MESSAGES, ANSWER, adapter=str(adapter))
    assert tuned.matrix.shape == base_map.matrix.shape
    assert np.abs(tuned.matrix - base_map.matrix).max() > 0.01
    again = explainer.explain(MESSAGES, ANSWER)
    assert np.allclose(again.matrix, base_map.matrix, atol=1e-6)


def test_long_answers_are_cut_and_the_map_survives_the_cache(explainer, tmp_path):
    amap = explainer.explain(MESSAGES, " ".join(["word"] * 300))
    assert amap.answer_tokens == 48
    path = tmp_path / "m.npz"
    amap.save(path)
    back = AttentionMap.load(path)
    assert back.tokens == amap.tokens and np.array_equal(back.matrix, amap.matrix)
    assert (back.question, back.answer_start, back.aggregate) == (amap.question, amap.answer_start, amap.aggregate)


def test_bad_requests_are_refused_with_the_reason(explainer, tmp_path):
    with pytest.raises(AttentionError, match="aggregate"):
        explainer.explain(MESSAGES, ANSWER, aggregate="median")
    with pytest.raises(AttentionError, match="layers 0..29"):
        explainer.explain(MESSAGES, ANSWER, aggregate="layer:30")
    with pytest.raises(AttentionError, match="empty"):
        explainer.explain(MESSAGES, "")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "adapter_config.json").write_text(json.dumps({"r": 8, "lora_alpha": 16}))
    (pickled / "adapter_model.bin").write_bytes(b"\x80\x04not today")
    with pytest.raises(AttentionError, match="adapter_model.safetensors"):
        explainer.explain(MESSAGES, ANSWER, adapter=str(pickled))
    wrong = write_lora_adapter(tmp_path / "wrong")
    config = json.loads((wrong / "adapter_config.json").read_text())
    (wrong / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(AttentionError, match="DoRA"):
        explainer.explain(MESSAGES, ANSWER, adapter=str(wrong))


def test_the_figure_windows_long_answers_and_escapes_token_text():
    from results.attention_figure import COLUMNS, ROWS, attention_figure

    tokens = ["<a href='//x'>Q</a>", " two", *[f" w{i}" for i in range(100)]]
    size = len(tokens)
    matrix = np.tril(np.ones((size, size), np.float32))
    amap = AttentionMap(tokens, matrix / matrix.sum(axis=1, keepdims=True), (0, 2), 2, "mean")
    figure = attention_figure(amap, selected=60)
    heat, bars = figure["data"]
    assert len(heat["z"]) == ROWS and len(heat["z"][0]) <= COLUMNS
    rows = figure["layout"]["yaxis"]["ticktext"]
    assert "w58" in "".join(rows) and "w60" in "".join(rows)  # the window follows the focused token
    assert len(bars["y"]) == 2  # the question's tokens
    labels = figure["layout"]["xaxis"]["ticktext"] + figure["layout"]["xaxis2"]["ticktext"]
    assert all("<a" not in label for label in labels) and any("&lt;a" in label for label in labels)
