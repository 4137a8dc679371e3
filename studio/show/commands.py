"""A director command on the wire (HTTP body or director-socket message), read and checked.

``{"command": ..., "command_id": ...?, "args": {...}?}``; every problem is a ``BadCommand`` whose
message names the field.
"""

from __future__ import annotations

import json
import uuid

from .controller import COMMANDS

MAX_COMMAND_BODY = 16384


class BadCommand(ValueError):
    pass


class CommandTooLarge(BadCommand):
    """The body is over MAX_COMMAND_BODY bytes (HTTP answers 413, not 400)."""


def parse_command(raw: bytes | str) -> tuple[str, str, dict]:
    """A director command from HTTP or the director socket: ``{"command", "command_id"?, "args"?}``."""
    if len(raw) > MAX_COMMAND_BODY:
        raise CommandTooLarge(f"body over {MAX_COMMAND_BODY} bytes")
    try:
        payload = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise BadCommand(f"body is not JSON: {exc.msg} at position {exc.pos}") from None
    except UnicodeDecodeError:  # json.loads guesses UTF-8/16/32 from bytes; a guess can fail
        raise BadCommand("body is not JSON: not valid UTF-8 text") from None
    if not isinstance(payload, dict):
        raise BadCommand("body must be a JSON object")
    name = payload.get("command")
    if name not in COMMANDS:
        raise BadCommand(f"command: must be one of {', '.join(COMMANDS)} (got {name!r})")
    command_id = payload.get("command_id") or uuid.uuid4().hex
    if not isinstance(command_id, str) or not 1 <= len(command_id) <= 100:
        raise BadCommand("command_id: must be a string of 1 to 100 characters")
    args = payload.get("args", {})
    if not isinstance(args, dict):
        raise BadCommand("args: must be a JSON object")
    return name, command_id, args
