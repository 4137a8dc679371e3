"""The rundown as the studio plays it: a show script and everything it names, checked.

``load_script`` is ``core.script.parse_script`` (the schema, with lines) plus what only the show
can check: the question banks and transcripts stages will read, replay engines' recordings, the
content filter's rule files and classifier hook, contestants' adapters (a folder, or one the
studio trains itself), a debate's budget against its engines. Every problem at once, as
``file:line: field: message``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from contestants.prepared_adapters import PREFIX as PREPARED_PREFIX
from contestants.prepared_adapters import RECIPES as PREPARED_RECIPES
from core.locale import Messages
from core.script import ReplayEngineSpec, ShowScript, VllmEngineSpec, parse_script
from core.yaml_source import SourceError
from engine_pool.replay_engine import ReplayEngine
from safety.rules import SHIPPED_DIR, load_rules
from stages.banks import load_bank
from stages.debate import fixed_prompt_bound
from stages.subtitles import load_transcript


def load_script(path: str | Path) -> ShowScript:
    """Parse and validate a script and everything it names; raise SourceError listing all problems."""
    path = Path(path)
    script, lines = parse_script(path)
    problems: list[str] = []
    for i, stage in enumerate(script.stages):
        bank = getattr(stage, "bank", None)
        if bank is None:
            continue
        try:
            loaded = load_bank(script.resolve(bank))
        except SourceError as exc:
            problems.append(f"{path}:{lines.get(('stages', i, 'bank'))}: stages[{i}].bank: cannot use {bank!r}:")
            problems += ["    " + p for p in exc.problems]
            continue
        needed, field = (stage.questions, "questions") if stage.kind == "speed_qa" else (stage.candidates * stage.rounds, "candidates")
        if len(loaded.questions) < needed:
            problems.append(
                f"{path}:{lines.get(('stages', i, field), lines.get(('stages', i)))}: stages[{i}].{field}: "
                f"needs {needed} questions but {bank} has only {len(loaded.questions)}"
            )
    for i, stage in enumerate(script.stages):
        if stage.kind == "subtitles" and stage.transcript:
            try:
                load_transcript(script.resolve(stage.transcript))
            except SourceError as exc:
                problems.append(
                    f"{path}:{lines.get(('stages', i, 'transcript'))}: stages[{i}].transcript: cannot use {stage.transcript!r}:"
                )
                problems += ["    " + p for p in exc.problems]
    t = Messages(script.show.locale).t
    for i, stage in enumerate(script.stages):
        if stage.kind != "debate":
            continue
        for who in stage.contestants or [c.id for c in script.contestants[:2]]:
            k, contestant = next((k, c) for k, c in enumerate(script.contestants) if c.id == who)
            fixed = fixed_prompt_bound(t, stage, contestant.system_prompt)
            if fixed > stage.context_tokens:
                where = lines.get(("contestants", k, "system_prompt"), lines.get(("contestants", k)))
                problems.append(
                    f"{path}:{lines.get(('stages', i, 'context_tokens'), lines.get(('stages', i)))}: stages[{i}].context_tokens: "
                    f"{stage.context_tokens} cannot hold {who}'s system prompt (line {where}) and the debate's instructions "
                    f"before a word of the debate ({fixed} tokens, counted from above): every turn of {who} would be a DNF"
                )
            engine = script.engines[contestant.engine]
            need = stage.context_tokens + stage.sampling.max_tokens
            if isinstance(engine, VllmEngineSpec) and need > engine.max_model_len:
                problems.append(
                    f"{path}:{lines.get(('stages', i, 'context_tokens'), lines.get(('stages', i)))}: stages[{i}].context_tokens: "
                    f"{stage.context_tokens} + sampling.max_tokens {stage.sampling.max_tokens} exceeds {who}'s engine max_model_len {engine.max_model_len}"
                )
    for name, engine in script.engines.items():
        if isinstance(engine, ReplayEngineSpec):
            try:
                ReplayEngine.from_file(name, script.resolve(engine.file))
            except SourceError as exc:
                problems.append(f"{path}:{lines.get(('engines', name, 'file'))}: engines.{name}.file: cannot use {engine.file!r}:")
                problems += ["    " + p for p in exc.problems]
    try:
        script_rules(script)
    except SourceError as exc:
        problems.append(f"{path}:{lines.get(('safety', 'rules'))}: safety.rules:")
        problems += ["    " + p for p in exc.problems]
    try:
        script_classifier(script)
    except SourceError as exc:
        problems += [f"{path}:{lines.get(('safety', 'classifier'))}: {p}" for p in exc.problems]
    for i, c in enumerate(script.contestants):
        where = f"{path}:{lines.get(('contestants', i, 'adapter'))}: contestants[{i}].adapter"
        if c.adapter and c.adapter.startswith(PREPARED_PREFIX):
            if c.adapter[len(PREPARED_PREFIX) :] not in PREPARED_RECIPES:
                problems.append(
                    f"{where}: no prepared adapter {c.adapter!r} (known: {', '.join(PREPARED_PREFIX + n for n in sorted(PREPARED_RECIPES))})"
                )
        elif c.adapter and not script.resolve(c.adapter).is_dir():
            problems.append(f"{where}: no folder {c.adapter!r}")
    if problems:
        raise SourceError(problems)
    return script


def script_classifier(script: ShowScript):
    """The classifier hook the script names, imported (raises SourceError if it cannot be)."""
    if not script.safety.classifier:
        return None
    module, _, name = script.safety.classifier.partition(":")
    try:
        hook = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SourceError([f"safety.classifier: cannot import {script.safety.classifier!r}: {exc}"]) from None
    if not callable(hook):
        raise SourceError([f"safety.classifier: {script.safety.classifier!r} is not callable"])
    return hook


def script_rules(script: ShowScript):
    """The content-filter rules this show runs with (raises SourceError naming file:line)."""
    paths = sorted(SHIPPED_DIR.glob("*.yaml")) if script.safety.shipped_rules else []
    paths += [script.resolve(p) for p in script.safety.rules]
    return load_rules(*paths)
