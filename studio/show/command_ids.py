"""What a director command answered, remembered by its ``command_id`` for a week.

A retry (a Companion button's HTTP retry, the panel's resend after a dropped connection) carries
the same id and gets the first result back without acting twice. The id is bound to the command
and its args: the same id with another command or other args is refused with the reason instead
of answering with an old, unrelated result.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

KEPT_S = 7 * 24 * 3600


@dataclass
class CommandResult:
    command: str
    command_id: str
    ok: bool  # False: refused, nothing changed
    changed: bool  # False: its effect already held
    reason: str
    status: str  # show status after the command
    stage: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def _call_of(name: str, args: dict) -> str:
    """What an id is bound to: the command and its args, in one canonical form."""
    return json.dumps([name, args], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class CommandIds:
    def __init__(self, client: Redis, show_id: str):
        self.client = client
        self.show_id = show_id

    def _key(self, command_id: str) -> str:
        return f"gavel:{{{self.show_id}}}:command:{command_id}"

    async def recall(self, command_id: str, name: str, args: dict) -> CommandResult | str | None:
        """The first result of this call; a reason to refuse if the id was used for another
        call; None for a new id."""
        stored = await self.client.get(self._key(command_id))
        if stored is None:
            return None
        stored = json.loads(stored)
        first = CommandResult(**stored["result"])
        if stored["call"] == _call_of(name, args):
            return first
        if first.command != name:
            return f"command_id {command_id!r} was already used for {first.command!r}: send a fresh command_id"
        return f"command_id {command_id!r} was already used for {name!r} with other args: send a fresh command_id"

    async def remember(self, result: CommandResult, args: dict) -> None:
        stored = {"call": _call_of(result.command, args), "result": result.to_dict()}
        await self.client.set(self._key(result.command_id), json.dumps(stored), ex=KEPT_S)
