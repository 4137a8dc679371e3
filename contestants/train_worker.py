"""The training process: one ms-swift job, run by ``contestants.training`` (never in the studio).

``python -m contestants.train_worker JOB.json`` (or under ``torchrun`` for several GPUs). Offline:
the hub variables are off and ``check_model=False``, so ms-swift never reaches for a model hub.
"""

from __future__ import annotations

import json
import os
import sys

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "MODELSCOPE_OFFLINE": "1",
    "USE_HF": "1",
    "VLLM_PLUGINS": "",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)


def swift_arguments(job: dict) -> dict:
    """The keyword arguments of ``SftArguments`` / ``RLHFArguments`` for a job (see training.py)."""
    kwargs = dict(
        model=job["model_path"],
        model_type=job["model_type"],
        template=job["template"],
        check_model=False,
        tuner_type="lora",
        dataset=[job["dataset"]],
        output_dir=job["output_dir"],
        add_version=False,
        max_steps=job["max_steps"],
        num_train_epochs=job["max_steps"],  # max_steps decides; epochs only must not end it first
        per_device_train_batch_size=job["batch_size"],
        gradient_accumulation_steps=job["gradient_accumulation_steps"],
        dataloader_num_workers=0,
        dataset_num_proc=1,
        max_length=job["max_length"],
        learning_rate=job["learning_rate"],
        lora_rank=job["lora_rank"],
        lora_alpha=job["lora_alpha"],
        target_modules=job["target_modules"],
        torch_dtype=job["torch_dtype"],
        save_steps=job["save_steps"],
        save_only_model=True,
        logging_steps=1,
        split_dataset_ratio=0.0,
        report_to=["none"],
        seed=job["seed"],
        callbacks=["gavel_budget"],
    )
    if job["kind"] == "dpo":
        kwargs.update(rlhf_type="dpo", beta=job["beta"])
    kwargs.update(job.get("swift_args") or {})  # distributed and other options, passed through as given
    return kwargs


def main(path: str) -> int:
    job = json.loads(open(path).read())
    from swift import callbacks

    from .budget_callback import BudgetCallback, report

    callbacks.callbacks_map["gavel_budget"] = BudgetCallback
    report({"event": "started", "step": 0, "max_steps": job["max_steps"]})
    kwargs = swift_arguments(job)
    if job["kind"] == "dpo":
        from swift import RLHFArguments, rlhf_main

        result = rlhf_main(RLHFArguments(**kwargs))
    else:
        from swift import SftArguments, sft_main

        result = sft_main(SftArguments(**kwargs))
    report({"event": "done", "step": int(result.get("global_step", 0)), "checkpoint": result.get("last_model_checkpoint")})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
