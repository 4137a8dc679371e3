"""Qualification: EvalScope scores a served contestant on the vendored benchmark sets.

EvalScope's ``TaskConfig`` / ``run_task`` with ``eval_type="openai_api"`` talks to the contestant
over the OpenAI API — the endpoint a show's remote engine would use, or the one
``contestants.endpoint`` starts for a LoRA on the base model. The sets are the local ones in
``contestants/benchmarks`` (``general_mcq`` and ``general_qa`` formats; sources and licences in
its README). Each subset's score (0..1) and their mean, weighted by items, come back with the
folder where EvalScope wrote its report (kept under the show's data dir).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent / "benchmarks"
MCQ_SUBSETS = ("mmlu_style", "bigbench_general_knowledge", "zh_general")
QA_SUBSETS = ("gsm8k_style",)


@dataclass(frozen=True)
class QualificationScores:
    scores: dict[str, float]  # subset -> 0..1
    samples: dict[str, int]  # subset -> items
    report_dir: Path

    @property
    def score(self) -> float:
        total = sum(self.samples.values())
        return sum(self.scores[s] * self.samples[s] for s in self.scores) / total if total else 0.0


def task_config(api_url: str, model: str, work_dir: Path, limit: int | None = None, batch_size: int = 4):
    from evalscope import TaskConfig
    from evalscope.utils.multi_choices import MultipleChoiceTemplate

    return TaskConfig(
        model=model,
        api_url=api_url,
        api_key="EMPTY",
        eval_type="openai_api",
        datasets=["general_mcq", "general_qa"],
        dataset_args={
            # The English instruction: most items are English, and a small model follows it better.
            "general_mcq": {
                "local_path": str(BENCHMARKS_DIR / "mcq"),
                "subset_list": list(MCQ_SUBSETS),
                "prompt_template": MultipleChoiceTemplate.SINGLE_ANSWER,
            },
            # GSM8K-style references are one number: Rouge-L recall is 1 when the answer states it.
            # (BLEU is left out: it needs NLTK data that is not shipped.)
            "general_qa": {"local_path": str(BENCHMARKS_DIR / "qa"), "subset_list": list(QA_SUBSETS), "metric_list": ["Rouge"]},
        },
        generation_config={"temperature": 0.0, "max_tokens": 64, "seed": 0},
        eval_batch_size=batch_size,
        limit=limit,
        work_dir=str(work_dir),
        no_timestamp=True,
        analysis_report=False,
        seed=0,
    )


def _subset_scores(report) -> tuple[dict[str, float], dict[str, int]]:
    """Per-subset score and size of the report's primary metric (Rouge reports several)."""
    scores, samples = {}, {}
    if not report.metrics:
        return scores, samples
    primary = report.primary_metric_identity
    metric = next((m for m in report.metrics if primary is not None and m.identity == primary), report.metrics[0])
    for category in metric.categories:
        for subset in category.subsets:
            scores[subset.name] = float(subset.score)
            samples[subset.name] = int(subset.num)
    return scores, samples


def qualify(api_url: str, model: str, work_dir: Path, limit: int | None = None) -> QualificationScores:
    """Run the qualification sets against ``model`` at ``api_url``; blocks until done."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MODELSCOPE_OFFLINE", "1")
    from evalscope import run_task

    work_dir.mkdir(parents=True, exist_ok=True)
    results = run_task(task_config(api_url, model, work_dir, limit=limit))
    scores: dict[str, float] = {}
    samples: dict[str, int] = {}
    for report in results.values():
        subset_scores, subset_samples = _subset_scores(report)
        scores.update(subset_scores)
        samples.update(subset_samples)
    missing = [s for s in MCQ_SUBSETS + QA_SUBSETS if s not in scores]
    if missing:
        raise RuntimeError(f"EvalScope returned no score for {', '.join(missing)} (see {work_dir})")
    return QualificationScores(scores=scores, samples=samples, report_dir=work_dir)
