"""How the studio logs: readable lines for a person, or one JSON object per line for a log shipper.

``--log-format json`` writes ``{"ts", "level", "logger", "message"}`` plus, once a studio is up,
``show`` and ``stage`` (the index on air, when one is), and ``exc`` with the traceback of an error.
"""

from __future__ import annotations

import enum
import json
import logging
from datetime import datetime, timezone
from typing import Any, Callable

Context = Callable[[], dict[str, Any]]


class LogFormat(str, enum.Enum):
    text = "text"
    json = "json"


class JsonLogFormatter(logging.Formatter):
    def __init__(self, context: Context | None = None):
        super().__init__()
        self.context = context  # set once the studio exists: show and stage of each line

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.context is not None:
            line.update((k, v) for k, v in self.context().items() if v is not None)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(verbose: bool, log_format: LogFormat = LogFormat.text) -> logging.Formatter:
    """Configure the root logger (stderr); returns its formatter, for ``attach_studio``."""
    handler = logging.StreamHandler()
    if log_format == LogFormat.json:
        formatter: logging.Formatter = JsonLogFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    for noisy in ("httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return formatter


def attach_studio(formatter: logging.Formatter, studio) -> None:
    """From now on, JSON lines say which show and which stage they happened in."""
    if not isinstance(formatter, JsonLogFormatter):
        return
    show_id = studio.script.show.id

    def context() -> dict[str, Any]:
        controller = studio.controller
        return {"show": show_id, "stage": controller.state.current_stage if controller is not None else None}

    formatter.context = context
