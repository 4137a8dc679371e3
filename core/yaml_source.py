"""Load YAML (or JSON, which YAML reads too) and keep the line of every value.

Show scripts and question banks are written by hand under time pressure; an error must name the
file, the line and the field. ``load_with_lines`` returns plain Python data plus a map from a
path such as ``("stages", 0, "bank")`` to its 1-based line; ``format_validation_error`` turns a
pydantic error into ``file:line: field: message`` lines using that map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

LinePath = tuple[str | int, ...]


class SourceError(ValueError):
    """A file that cannot be used, with every problem listed as ``file:line: field: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _LineLoader(yaml.SafeLoader):
    pass


def _node_to_data(node: yaml.Node, path: LinePath, lines: dict[LinePath, int], loader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise SourceError([f"line {key_node.start_mark.line + 1}: duplicate key {key!r}"])
            out[key] = _node_to_data(value_node, path + (key,), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node_to_data(v, path + (i,), lines, loader) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read_text(path: Path) -> str:
    """A hand-written input file's text, or a SourceError that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError([f"{path}: file not found"]) from None
    except IsADirectoryError:
        raise SourceError([f"{path}: is a folder, not a file"]) from None
    except UnicodeDecodeError as exc:
        raise SourceError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None


def load_with_lines(path: str | Path) -> tuple[Any, dict[LinePath, int]]:
    path = Path(path)
    loader = _LineLoader(read_text(path))
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError([f"{path}:1: the file is empty"])
        lines: dict[LinePath, int] = {}
        data = _node_to_data(node, (), lines, loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SourceError([f"{where}: not valid YAML/JSON: {getattr(exc, 'problem', exc)}"]) from None
    except SourceError as exc:
        raise SourceError([f"{path}:{p.removeprefix('line ')}" for p in exc.problems]) from None
    finally:
        loader.dispose()
    return data, lines


def line_of(lines: dict[LinePath, int], loc: LinePath) -> int | None:
    """The line of ``loc`` or of its nearest ancestor that has one (a missing field's parent)."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def format_loc(loc: LinePath) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _source_loc(loc: LinePath, lines: dict[LinePath, int]) -> LinePath:
    """Drop the parts of a pydantic loc that are not in the file (a discriminated union's tag)."""
    out: LinePath = ()
    for i, part in enumerate(loc):
        if out + (part,) in lines or i == len(loc) - 1 or out + (loc[i + 1],) not in lines:
            out += (part,)
    return out


def format_validation_error(path: str | Path, error: ValidationError, lines: dict[LinePath, int], prefix: LinePath = ()) -> list[str]:
    problems = []
    for err in error.errors(include_url=False):
        loc = _source_loc(prefix + tuple(err["loc"]), lines)
        line = line_of(lines, loc)
        where = f"{path}:{line}" if line else str(path)
        problems.append(f"{where}: {format_loc(loc)}: {err['msg']}")
    return problems
