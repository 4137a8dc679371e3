"""The WebSocket feeds: ``/ws/{program|preview|director|audience}?since=N&token=T``, in plain ASGI.

A feed checks the channel, the browser's origin, the role the channel needs and ``since``, then
replays and streams the channel's events (``fanout.ChannelHub``) until the client goes. Plain ASGI
— no framework WebSocket object, one task per socket, sends straight to the server — because
these are the studio's busiest paths: every token goes out on each of them (bench/relay.py), and
phones hold thousands of audience sockets open (bench/audience_fanout.py).

- Roles (``CHANNEL_ROLES``): program/preview need the graphics or director token, director the
  director's; audience is public (read-only, nothing secret on it). A socket lives only as long
  as its token: rotating the role's token closes it (4401).
- The director socket also takes commands; the answer is the ``director.command`` event on the
  same feed. Anything sent on other feeds is ignored.
- Graphics pages say who they are in the URL (``graphic``, ``version``, ``client``): they appear
  on the panel's registry while connected (to the controller process; a follower's feeds are
  read-only and keep no registry).
- Close codes: 4404 unknown channel, 4403 origin/role, 4400 bad ``since``, 4408 too far behind
  (reconnect with ``since``), 4401 token rotated. Before the handshake completes a refusal is an
  HTTP 403.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from core.events import CHANNELS, GraphicsClientData
from store.redis_client import cancel_and_wait
from studio.show.commands import BadCommand, parse_command

from .auth import presented_token
from .direct_send import direct_writer
from .fanout import SubscriberOverflow

if TYPE_CHECKING:
    from .runtime import Studio

log = logging.getLogger("gavel.feeds")

# Which roles may follow each channel; None: anyone (viewers' phones, nothing secret on it).
CHANNEL_ROLES: dict[str, tuple[str, ...] | None] = {
    "director": ("director",),
    "program": ("director", "graphics"),
    "preview": ("director", "graphics"),
    "audience": None,
}


def origin_allowed(conn: HTTPConnection) -> bool:
    """Browsers say where a page came from: only the studio's own pages and the origins in
    ``GAVEL_ALLOWED_ORIGINS`` (comma-separated; ``null`` for file:// pages in CasparCG/OBS)
    may open a socket. Clients that send no Origin (CasparCG, scripts) are judged by token."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    allowed = {o.strip() for o in os.environ.get("GAVEL_ALLOWED_ORIGINS", "").split(",") if o.strip()}
    if origin in allowed:
        return True
    host = conn.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


class _Socket:
    def __init__(self, send):
        self._send = send

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


async def serve_feed(studio: "Studio", scope, receive, send) -> None:
    """One client on one channel, from the handshake to its goodbye."""
    if (await receive())["type"] != "websocket.connect":
        return
    conn, socket = HTTPConnection(scope), _Socket(send)
    channel = scope["path"].removeprefix("/ws/")
    if channel not in CHANNELS:
        await socket.close(4404, f"unknown channel {channel!r}")
        return
    if not origin_allowed(conn):
        await socket.close(4403, f"origin {conn.headers.get('origin')!r} not allowed")
        return
    token, roles = presented_token(conn), CHANNEL_ROLES[channel]
    if roles is not None and studio.tokens.role_of(token) not in roles:
        await socket.close(4403, f"{' or '.join(roles)} token required")
        return
    try:
        since = int(conn.query_params.get("since", "0"))
        if since < 0:
            raise ValueError
    except ValueError:
        await socket.close(4400, "since: must be a non-negative integer")
        return
    # A page that offered "gavel" (its token in the handshake, studio/server/auth.py) must get it back.
    await send({"type": "websocket.accept", **({"subprotocol": "gavel"} if "gavel" in (scope.get("subprotocols") or ()) else {})})
    # A replay (studio/server/replay.py) or a follower has no controller: pages are not registered, commands not taken.
    registered = _graphics_client(conn, channel, studio) if studio.controller is not None else None
    if registered:
        await studio.controller.graphics.client(registered)
    serving = asyncio.create_task(studio.hubs[channel].serve(socket.send_text, since, direct_writer(send)))
    watcher = asyncio.create_task(_until_token_rotated(socket, studio, token, roles)) if roles is not None else None
    # This handler listens itself (a socket costs one task): the watcher ending (a rotated token),
    # or serving ending for any reason but the client having gone (an overflow), interrupts the
    # listening. A client that left is not interrupted: what it sent before leaving (a director's
    # "pause" then "resume") is still read, in order, up to its goodbye.
    handler = asyncio.current_task()
    interrupted = False

    def interrupt(task: asyncio.Task) -> None:
        nonlocal interrupted
        if task is serving and not task.cancelled() and isinstance(task.exception(), OSError):
            return  # the client went (uvicorn's ClientDisconnected): its goodbye is in the queue
        if not interrupted:
            interrupted = True
            handler.cancel()

    helpers = [t for t in (serving, watcher) if t is not None]
    for task in helpers:
        task.add_done_callback(interrupt)
    try:
        await _listen(receive, studio, channel)
    except asyncio.CancelledError:
        if not interrupted:
            raise  # the server is stopping
        handler.uncancel()
    finally:
        for task in helpers:
            task.remove_done_callback(interrupt)
        await cancel_and_wait(*helpers)  # (the serving task may be inside a redis-py read: its replay)
        if registered:
            await studio.controller.graphics.client(registered.model_copy(update={"connected": False}))
    failure = serving.exception() if serving.done() and not serving.cancelled() else None
    if isinstance(failure, SubscriberOverflow):
        log.warning("%s", failure)
        await socket.close(4408, "too far behind: reconnect with since")
    elif failure is not None and not isinstance(failure, (OSError, RuntimeError)):
        log.error("feed %s failed: %r", channel, failure)


async def _listen(receive, studio: "Studio", channel: str) -> None:
    """Until the client goes: on the director channel, run the commands it sends."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if channel != "director" or studio.controller is None:
            continue  # graphics and phones only listen (a replay is only watched; a follower takes no commands)
        raw = message.get("text") or message.get("bytes") or b""
        try:
            name, command_id, args = parse_command(raw)
        except BadCommand as exc:
            await asyncio.shield(studio.controller.refuse(str(raw)[:60], "director", str(exc)))
            continue
        # A command once read runs to its end even if the socket is cut meanwhile: half a "pause"
        # (the show held, its event logged but not applied) would stall the show.
        await asyncio.shield(studio.controller.command(name, command_id, by="director", args=args))


async def _until_token_rotated(socket: _Socket, studio: "Studio", token: str | None, roles: tuple[str, ...]) -> None:
    """A socket lives only as long as its token: rotating a role's token cuts its sockets off."""
    while studio.tokens.role_of(token) in roles:
        await asyncio.sleep(2.0)
    await socket.close(4401, "token rotated: reconnect with the new one")


def _graphics_client(conn: HTTPConnection, channel: str, studio: "Studio") -> GraphicsClientData | None:
    """A graphics page says who it is in its URL (``graphic``, ``version``, ``client``)."""
    params = conn.query_params
    graphic = params.get("graphic")
    if not graphic:
        return None
    version = params.get("version", "")[:40]
    return GraphicsClientData(
        client_id=(params.get("client") or uuid.uuid4().hex)[:64],
        connection=uuid.uuid4().hex,
        graphic=graphic[:40],
        channel=channel,
        version=version,
        stale=version != studio.overlay_version,
        connected=True,
    )
