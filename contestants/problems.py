"""The one error intake raises: every problem found, each naming the file, line or field."""

from __future__ import annotations


class IntakeError(ValueError):
    """A submission was refused. ``problems`` lists every reason, each one line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
