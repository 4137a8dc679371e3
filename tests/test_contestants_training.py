"""Training jobs on the real SmolLM2-135M with ms-swift (CPU), with tiny budgets.

Each job runs ms-swift in its own process, as the studio does; steps are few and rows short so a
job takes seconds of training on 2 cores (plus the model load).
"""

from __future__ import annotations

import json

import pytest

from contestants.adapters import check_adapter
from contestants.base_models import load_base_model
from contestants.budget import Budget
from contestants.train_worker import swift_arguments
from contestants.training import TrainingJob, _command, run_training

BASE = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    sft = folder / "sft.jsonl"
    dpo = folder / "dpo.jsonl"
    sft.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Name the show. ({i})"},
                        {"role": "assistant", "content": "Gavel! The gavel falls."},
                    ]
                }
            )
            + "\n"
            for i in range(4)
        )
    )
    dpo.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Greet the audience. ({i})"},
                        {"role": "assistant", "content": "Welcome to Gavel!"},
                    ],
                    "rejected_response": "Whatever.",
                }
            )
            + "\n"
            for i in range(4)
        )
    )
    return {"sft": sft, "dpo": dpo}


def job(kind, data, tmp_path, **budget) -> TrainingJob:
    return TrainingJob(
        kind=kind, dataset=data[kind], job_dir=tmp_path / kind, max_length=64, budget=Budget(**{"wall_s": 600, "max_steps": 2, **budget})
    )


@pytest.mark.parametrize("kind, steps", [("sft", 2), ("dpo", 1)])
def test_a_job_trains_an_adapter_the_engine_can_serve(kind, steps, data, tmp_path):
    seen = []
    result = run_training(job(kind, data, tmp_path, max_steps=steps), seen.append)
    assert (result.status, result.steps) == ("completed", steps), result.reason
    summary = check_adapter(result.adapter, load_base_model(BASE), max_lora_rank=16)  # intake's own checks
    assert summary.rank == 8 and summary.adapted_modules == 30 * 4
    progress = [p for p in seen if p.event == "progress"]
    assert [p.step for p in progress] == list(range(1, steps + 1))
    assert all(p.loss is not None and p.loss > 0 and p.max_steps == steps for p in progress)
    assert progress[-1].eta_s == pytest.approx(0.0)


@pytest.mark.parametrize(
    "budget, reason",
    [
        ({"wall_s": 1}, "wall-time budget of 1 s spent"),
        ({"max_rss_mb": 64}, "memory budget of 64 MB exceeded"),  # the model alone is ~500 MB resident
    ],
)
def test_a_job_over_its_budget_stops_at_a_step_and_keeps_that_checkpoint(budget, reason, data, tmp_path):
    seen = []
    result = run_training(job("sft", data, tmp_path, max_steps=50, **budget), seen.append)
    assert result.status == "budget_exceeded"
    assert result.reason.startswith(reason) and result.reason.endswith("at step 1")
    assert result.steps == 1
    assert sorted(p.name for p in (tmp_path / "sft" / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1"]
    assert check_adapter(result.adapter, load_base_model(BASE), max_lora_rank=16).rank == 8
    assert any(p.event == "budget" for p in seen)


def test_a_job_that_overstays_its_grace_is_killed(data, tmp_path):
    result = run_training(job("sft", data, tmp_path, wall_s=0, grace_s=1, max_steps=50))
    assert result.status == "budget_exceeded" and result.reason.startswith("killed after")
    assert result.adapter is None  # killed before its first checkpoint: nothing half-written is offered


def test_distributed_options_pass_through_to_ms_swift(data, tmp_path):
    spec = job("sft", data, tmp_path)
    spec.nproc_per_node = 4
    spec.swift_args = {"deepspeed": "zero3", "torch_dtype": "bfloat16"}
    spec.job_dir.mkdir(parents=True)
    command = _command(spec, tmp_path / "job.json")
    assert command[1:5] == ["-m", "torch.distributed.run", "--nproc_per_node=4", "-m"]
    from contestants.training import _job_file

    kwargs = swift_arguments(json.loads(_job_file(spec, tmp_path / "out").read_text()))
    assert kwargs["deepspeed"] == "zero3" and kwargs["torch_dtype"] == "bfloat16"
    assert (kwargs["check_model"], kwargs["dataloader_num_workers"], kwargs["gradient_accumulation_steps"]) == (False, 0, 1)
