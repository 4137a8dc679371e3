"""Intake refuses every bad submission with a message that names the problem, and stores a good
one. Real files throughout: real PEFT-layout adapters against the real SmolLM2 base's header,
real zip/tar archives, real torch pickles."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest

from contestants.archives import ArchiveLimits
from contestants.intake import register
from contestants.problems import IntakeError
from contestants.registry import Registry

from .engine_contract import write_lora_adapter

BASE = "smollm2-135m-instruct"


def sft_row(question="What is 2+2?", answer="4"):
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "store")


def refused(registry, *args, **kwargs) -> list[str]:
    with pytest.raises(IntakeError) as caught:
        register(registry, *args, **kwargs)
    assert caught.value.problems
    return caught.value.problems


def test_a_good_adapter_folder_is_stored(registry, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora", rank=8)
    (adapter / "README.md").write_text("notes")
    record = register(registry, "ada", "Ada", "Team Lovelace", BASE, "adapter", adapter)
    assert (record.rank, record.adapter_ready) == (8, True)
    stored = sorted(p.name for p in registry.adapter_dir("ada").iterdir())
    assert stored == ["adapter_config.json", "adapter_model.safetensors"]
    assert registry.get("ada") == record
    assert "id: 'ada' is already registered" in refused(registry, "ada", "Ada", "", BASE, "adapter", adapter)


def test_a_zip_archive_is_unpacked_and_checked(registry, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora")
    archive = tmp_path / "lora.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in adapter.iterdir():
            zf.write(f, f"my-adapter/{f.name}")
    assert register(registry, "bao", "Bao", "", BASE, "adapter", archive).adapter_ready


def test_path_traversal_in_an_archive_is_refused(registry, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.txt", "gotcha")
        zf.writestr("/etc/cron.d/x", "gotcha")
    problems = refused(registry, "eve", "Eve", "", BASE, "adapter", archive)
    assert any("'../../escape.txt': path traversal" in p for p in problems)
    assert any("absolute path" in p for p in problems)
    assert not (tmp_path.parent / "escape.txt").exists()
    assert not registry.folder("eve").exists()


def test_symlinks_and_oversized_members_in_a_tar_are_refused(registry, tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("adapter/adapter_model.safetensors")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        big = tarfile.TarInfo("adapter/padding.txt")
        big.size = 2048
        tf.addfile(big, io.BytesIO(b"0" * 2048))
    problems = refused(
        registry, "eve", "Eve", "", BASE, "adapter", archive, archive_limits=ArchiveLimits(max_file_bytes=1024, max_total_bytes=4096)
    )
    assert any("is a symlink" in p for p in problems)
    assert any("'adapter/padding.txt' is 2048 bytes, over the per-file cap of 1024" in p for p in problems)


def test_a_pickled_bin_is_refused_without_being_loaded(registry, tmp_path):
    import torch

    adapter = write_lora_adapter(tmp_path / "lora")
    (adapter / "adapter_model.safetensors").unlink()

    class Boom:  # unpickling this would run os.system
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch.save({"x": Boom()}, adapter / "adapter_model.bin")
    problems = refused(registry, "eve", "Eve", "", BASE, "adapter", adapter)
    assert any("adapter_model.bin: pickle files are never loaded" in p for p in problems)
    assert any("adapter_model.safetensors: missing" in p for p in problems)
    assert not (tmp_path / "pwned").exists()


def test_an_adapter_for_another_model_is_refused(registry, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora", rank=32)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["target_modules"] = ["q_proj", "query_key_value"]  # a GPT-NeoX/Falcon module name
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    problems = refused(registry, "eve", "Eve", "", BASE, "adapter", adapter, max_lora_rank=16)
    assert any("r=32 is over the engine's max_lora_rank of 16" in p for p in problems)
    assert any("target_modules ['query_key_value'] are not modules of smollm2-135m-instruct" in p for p in problems)


def test_tensor_shapes_must_fit_the_base(registry, tmp_path):
    import torch
    from safetensors.torch import save_file

    adapter = write_lora_adapter(tmp_path / "lora", rank=8)
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    save_file(
        {
            f"{prefix}.lora_A.weight": torch.zeros(8, 4096),
            f"{prefix}.lora_B.weight": torch.zeros(4096, 8),
            "base_model.model.model.layers.99.self_attn.q_proj.lora_A.weight": torch.zeros(8, 576),
        },
        str(adapter / "adapter_model.safetensors"),
    )
    problems = refused(registry, "eve", "Eve", "", BASE, "adapter", adapter)
    assert any("q_proj.lora_A.weight' has shape [8, 4096], expected [8, 576]" in p for p in problems)
    assert any("adapts 'model.layers.99.self_attn.q_proj', which smollm2-135m-instruct" in p for p in problems)


def test_a_corrupt_safetensors_header_is_refused(registry, tmp_path):
    adapter = write_lora_adapter(tmp_path / "lora")
    (adapter / "adapter_model.safetensors").write_bytes((10**9).to_bytes(8, "little") + b"{}")
    problems = refused(registry, "eve", "Eve", "", BASE, "adapter", adapter)
    assert any("not a valid safetensors file: header length 1000000000 is impossible" in p for p in problems)


def test_unknown_base_model_and_bad_identity(registry, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [sft_row()])
    problems = refused(registry, "Not An Id", "", "", "gpt-5", "sft", data)
    assert any(p.startswith("id: 'Not An Id'") for p in problems)
    assert any(p.startswith("name: ") for p in problems)
    assert any("base_model: 'gpt-5' is not in the studio's model registry (known: smollm2-135m-instruct)" in p for p in problems)


def test_a_good_sft_dataset_is_stored(registry, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [sft_row(), "", sft_row("Capital of France?", "Paris")])
    record = register(registry, "cyd", "Cyd", "", BASE, "sft", data)
    assert (record.kind, record.rows, record.adapter_ready) == ("sft", 2, False)
    assert registry.data_file("cyd").read_text() == data.read_text()


def test_malformed_dataset_lines_are_named(registry, tmp_path):
    data = write_jsonl(
        tmp_path / "train.jsonl",
        [
            sft_row(),
            "{not json",
            {"messages": [{"role": "user", "content": "hi"}]},
            {"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": ""}]},
            {"prompt": "old format", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
            sft_row("Tell me the secret launch code", "no"),
        ],
    )
    problems = refused(registry, "eve", "Eve", "", BASE, "sft", data)
    assert any(p.startswith("train.jsonl:2: not valid JSON") for p in problems)
    assert "train.jsonl:3: messages: the last message must be the assistant's answer (the one trained on)" in problems
    assert "train.jsonl:4: messages[0].role: must be one of system, user, assistant, got 'robot'" in problems
    assert "train.jsonl:4: messages[1].content: must be non-empty text" in problems
    assert any(p.startswith("train.jsonl:5: unknown field 'prompt'") for p in problems)
    assert "train.jsonl:6: messages[0].content: refused by the content filter: test-secret-launch-code" in problems
    assert not any(p.startswith("train.jsonl:1:") for p in problems)


def test_dpo_rows_need_a_rejected_response(registry, tmp_path):
    good = {**sft_row("Say hi", "Hello!"), "rejected_response": "Go away."}
    data = write_jsonl(tmp_path / "pairs.jsonl", [good, sft_row(), {**sft_row("a", "b"), "rejected_response": "b"}])
    problems = refused(registry, "eve", "Eve", "", BASE, "dpo", data)
    assert "pairs.jsonl:2: rejected_response: must be non-empty text (the answer the model should not give)" in problems
    assert "pairs.jsonl:3: rejected_response: is the same as the chosen answer" in problems
    ok = write_jsonl(tmp_path / "ok.jsonl", [good])
    assert register(registry, "dee", "Dee", "", BASE, "dpo", ok).rows == 1
