"""How the studio logs: readable lines for a person, or one JSON object per line for a log shipper.

``--log-format json`` writes ``{"ts", "level", "logger", "message"}`` plus, once a studio is up,
``show`` and ``stage`` (the index on air, when one is), and ``exc`` with the traceback of an error.

No secret reaches a line, whatever logged it (uvicorn logs each WebSocket's path, query string
and all, and graphics pages carry ``?token=``): each finished line — message, traceback, JSON —
(field by field in JSON) has ``token=``/``key=``/… values, ``Bearer`` credentials and device tokens blanked, and, once a
studio is attached, every secret it holds (roles' tokens, the device-token key; rotated ones too).
"""

from __future__ import annotations

import enum
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

Context = Callable[[], dict[str, Any]]
Secrets = Callable[[], Iterable[str]]

REDACTED = "[redacted]"
_CREDENTIAL = re.compile(
    r"(?i)(?P<param>\b(?:token|key|secret|signature|password)=)[^&\s\"'#\\]+"  # in a query string or form
    r"|(?P<bearer>\bbearer\s+)[^\s\"',]+"  # an Authorization header's value
    r"|\bd1\.[\w-]+\.\d+\.[0-9a-f]{32}\b"  # a phone's device token (studio/server/device_tokens.py)
)


class Redactor:
    def __init__(self) -> None:
        self.secrets: Secrets | None = None  # the attached studio's, read at each line
        self._known: set[str] = set()  # every secret seen, so a rotated one stays blanked

    def __call__(self, line: str) -> str:
        line = _CREDENTIAL.sub(lambda m: f"{m['param'] or m['bearer'] or ''}{REDACTED}", line)
        if self.secrets is not None:
            self._known.update(s for s in self.secrets() if len(s) >= 8)
        for secret in self._known:
            if secret in line:
                line = line.replace(secret, REDACTED)
        return line


class TextLogFormatter(logging.Formatter):
    def __init__(self, redact: Redactor):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class LogFormat(str, enum.Enum):
    text = "text"
    json = "json"


class JsonLogFormatter(logging.Formatter):
    def __init__(self, redact: Redactor, context: Context | None = None):
        super().__init__()
        self.redact = redact
        self.context = context  # set once the studio exists: show and stage of each line

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if self.context is not None:
            line.update((k, v) for k, v in self.context().items() if v is not None)
        if record.exc_info:
            line["exc"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)  # redacted field by field: JSON's escapes stay whole


def setup_logging(verbose: bool, log_format: LogFormat = LogFormat.text) -> logging.Formatter:
    """Configure the root logger (stderr); returns its formatter, for ``attach_studio``."""
    handler = logging.StreamHandler()
    formatter: TextLogFormatter | JsonLogFormatter
    if log_format == LogFormat.json:
        formatter = JsonLogFormatter(Redactor())
    else:
        formatter = TextLogFormatter(Redactor())
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    for noisy in ("httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return formatter


def blank_secrets_of(formatter: logging.Formatter, tokens) -> None:
    """From now on, lines blank every secret these ``Tokens`` hold (read at each line: rotations count)."""
    if isinstance(formatter, (TextLogFormatter, JsonLogFormatter)):
        formatter.redact.secrets = lambda: [tokens.director, tokens.graphics, tokens.signing, *tokens.judges.values()]


def attach_studio(formatter: logging.Formatter, studio) -> None:
    """From now on, lines blank the studio's own secrets, and JSON lines say which show and which
    stage they happened in."""
    blank_secrets_of(formatter, studio.tokens)
    if not isinstance(formatter, JsonLogFormatter):
        return
    show_id = studio.script.show.id

    def context() -> dict[str, Any]:
        controller = studio.controller
        return {"show": show_id, "stage": controller.state.current_stage if controller is not None else None}

    formatter.context = context
