"""Show scripts: the shipped ones load; a broken one fails before the show with file, line, field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.yaml_source import SourceError
from studio.show.rundown import load_script

REPO = Path(__file__).resolve().parent.parent
GOOD = """\
show:
  id: t
  title: Test show
engines:
  local:
    kind: vllm
contestants:
  - id: ada
    name: Ada
    engine: local
stages:
  - kind: speed_qa
    bank: {bank}
    questions: 2
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "show.yaml"
    path.write_text(text.replace("{bank}", str(REPO / "show_scripts/banks/demo.yaml")))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(SourceError) as info:
        load_script(path)
    return str(info.value)


def test_the_rehearsal_script_loads_with_its_bank():
    script = load_script(REPO / "show_scripts/rehearsal.yaml")
    assert [s.kind for s in script.stages] == ["speed_qa"]
    assert len(script.contestants) >= 2
    assert script.resolve(script.stages[0].bank).exists()


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "show_scripts").glob("*.yaml")))
def test_every_shipped_script_is_valid(name):
    script = load_script(REPO / "show_scripts" / name)
    assert script.stages and len(script.contestants) >= 2


def test_a_valid_script_loads(tmp_path):
    script = load_script(_write(tmp_path, GOOD))
    assert script.engines["local"].tensor_parallel_size == 1
    assert script.stages[0].sampling.temperature == 0.0


@pytest.mark.parametrize(
    "change, line, field, words",
    [
        (
            ("    kind: vllm\n", "    kind: vllm\n    tensor_parallel_size: 0\n"),
            7,
            "engines.local.tensor_parallel_size",
            "greater than or equal to 1",
        ),
        (("    engine: local\n", "    engine: remote\n"), 10, "contestants[0].engine", "unknown engine 'remote'"),
        (
            ("    questions: 2\n", "    questions: 2\n    sampling: {temperature: 9}\n"),
            15,
            "stages[0].sampling.temperature",
            "less than or equal to 2",
        ),
        (("    questions: 2\n", "    questions: 2\n    colour: red\n"), 15, "stages[0].colour", "Extra inputs are not permitted"),
        (("    questions: 2\n", "    questions: 99\n"), 14, "stages[0].questions", "has only 5"),
        (("  - kind: speed_qa\n", "  - kind: karaoke\n"), 12, "stages[0]", "does not match any of the expected tags"),
        (("    name: Ada\n", ""), 8, "contestants[0].name", "Field required"),
    ],
)
def test_a_broken_script_names_line_and_field(tmp_path, change, line, field, words):
    text = GOOD.replace(*change)
    message = _problems(_write(tmp_path, text))
    assert f"show.yaml:{line}: {field}" in message
    assert words in message


def test_a_missing_bank_is_reported_at_the_bank_line(tmp_path):
    message = _problems(_write(tmp_path, GOOD.replace("{bank}", "nowhere.yaml")))
    assert "show.yaml:13: stages[0].bank" in message and "file not found" in message


def test_a_broken_bank_is_reported_through_the_script(tmp_path):
    bank = tmp_path / "bank.yaml"
    bank.write_text("questions:\n  - id: q1\n    question: What?\n    kind: numeric\n")
    message = _problems(_write(tmp_path, GOOD.replace("{bank}", str(bank)).replace("questions: 2", "questions: 1")))
    assert "show.yaml:13: stages[0].bank" in message
    assert "bank.yaml:2" in message and "answer" in message


def test_yaml_syntax_errors_name_the_line(tmp_path):
    message = _problems(_write(tmp_path, GOOD.replace("    name: Ada\n", "    name: [Ada\n")))
    assert "show.yaml:" in message and "not valid YAML" in message


def test_identical_contestants_are_warned_of_with_their_lines(tmp_path):
    text = GOOD.replace(
        "    engine: local\n",
        "    engine: local\n  - id: bao\n    name: Bao\n    engine: local\n  - id: cyd\n    name: Cyd\n    engine: local\n"
        "    system_prompt: You are Cyd.\n",
    )
    script = load_script(_write(tmp_path, text))
    assert script.warnings == [
        f"{tmp_path / 'show.yaml'}:11: contestants[1]: bao is identical to ada (line 8: same engine, adapter, system prompt "
        "and sampling): they will give the same answers"
    ]
    result = subprocess.run([sys.executable, "-m", "studio.cli", "check", str(tmp_path / "show.yaml")], capture_output=True, text=True)
    assert result.returncode == 0 and "warning:" in result.stderr and "bao is identical to ada" in result.stderr


@pytest.mark.parametrize("name", ["full_show.yaml", "full_show.zh.yaml", "demo.yaml"])
def test_the_shipped_episodes_have_four_different_trained_contestants(name):
    script = load_script(REPO / "show_scripts" / name)
    assert not script.warnings
    assert len(script.contestants) >= 4
    adapters = [c.adapter for c in script.contestants]
    assert all(a and a.startswith("prepared:") for a in adapters) and len(set(adapters)) == len(adapters)
