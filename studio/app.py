"""The studio's HTTP and WebSocket surface (Starlette).

- ``/ws/{channel}?since=N&token=T`` — program / preview (graphics or director token), director
  (director token), audience (public) event feeds; browsers' origins are checked. A frame holds
  one event, or a JSON array of events in seq order.
- ``POST /api/tokens/rotate`` — a new secret for a role, without a restart (director).
- ``POST /api/images`` — the director uploads a picture for image-to-poem (studio/image_api.py).
- ``/vote`` + ``/api/audience/device``, ``/api/polls/...`` — viewers' phones (studio/audience_api.py);
  ``/judge`` + ``/api/judge/...`` — the judges (studio/judge_api.py).
- ``POST /api/command`` — director commands; ``GET /api/state`` — what the director sees.
- ``/overlays/...`` — the on-air graphics (``version.json``: the overlay files' version);
  ``/vendor/plotly.min.js`` — plotly.js from the plotly package; ``/director`` — the panel.
Every error is JSON with the reason; nothing here returns a 500 for bad input.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import plotly.utils
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import audience_api, image_api, judge_api
from .auth import TokenError, presented_token
from .graphics import OVERLAYS_DIR
from .radar import radar_figure
from .controller import COMMANDS
from .events import CHANNELS, GraphicsClientData
from .fanout import SubscriberOverflow
from .runtime import Studio

log = logging.getLogger("gavel.app")

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_COMMAND_BODY = 16384
# Read-only, non-secret data that graphics pages loaded from disk (CasparCG file://) must read.
OPEN_TO_PAGES = {"Access-Control-Allow-Origin": "*"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# Which roles may follow each channel; None: anyone (viewers' phones, nothing secret on it).
CHANNEL_ROLES: dict[str, tuple[str, ...] | None] = {
    "director": ("director",),
    "program": ("director", "graphics"),
    "preview": ("director", "graphics"),
    "audience": None,
}


def _require(request: Request, studio: Studio, roles: tuple[str, ...]) -> JSONResponse | None:
    token = presented_token(request)
    names = " or ".join(roles)
    if not token:
        return _error(401, f"{names} token required (Authorization: Bearer <token>)")
    if studio.tokens.role_of(token) not in roles:
        return _error(403, f"this token is not the {names} token")
    return None


def _require_director(request: Request, studio: Studio) -> JSONResponse | None:
    return _require(request, studio, ("director",))


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


class BadCommand(ValueError):
    pass


def parse_command(raw: bytes | str) -> tuple[str, str, dict]:
    """A director command from HTTP or the director socket: ``{"command", "command_id"?, "args"?}``."""
    if len(raw) > MAX_COMMAND_BODY:
        raise BadCommand(f"body over {MAX_COMMAND_BODY} bytes")
    try:
        payload = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise BadCommand(f"body is not JSON: {exc.msg} at position {exc.pos}") from None
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


async def command(request: Request) -> JSONResponse:
    studio: Studio = request.app.state.studio
    if denied := _require_director(request, studio):
        return denied
    try:
        name, command_id, args = parse_command(await request.body())
    except BadCommand as exc:
        return _error(413 if "bytes" in str(exc) else 400, str(exc))
    result = await studio.controller.command(name, command_id, by="director", args=args)
    return JSONResponse(result.to_dict(), status_code=200 if result.ok else 409)


async def state(request: Request) -> JSONResponse:
    studio: Studio = request.app.state.studio
    if denied := _require_director(request, studio):
        return denied
    show = studio.controller.state.to_dict()
    show["engines"] = await studio.pool.health() if studio.pool.ready.is_set() else {}
    show["engines_ready"] = studio.pool.ready.is_set()
    show["engine_errors"] = studio.pool.start_errors
    show["last_seq"] = studio.controller.state.last_seq
    show["safety"] = {"delay_s": studio.script.safety.delay_s}
    return JSONResponse(show)


async def rotate_token(request: Request) -> JSONResponse:
    """``POST /api/tokens/rotate {"role": ...}``: a new secret for a role, live (director only)."""
    studio: Studio = request.app.state.studio
    if denied := _require_director(request, studio):
        return denied
    raw = await request.body()
    if len(raw) > MAX_COMMAND_BODY:
        return _error(413, f"body over {MAX_COMMAND_BODY} bytes")
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body: must be JSON {\"role\": ...}")
    role = payload.get("role") if isinstance(payload, dict) else None
    try:
        token = studio.tokens.rotate(str(role))
    except TokenError as exc:
        return _error(400, str(exc))
    log.warning("token for %s rotated by the director", role)
    return JSONResponse({"role": role, "token": token, "file": str(studio.tokens.path)})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def feed(websocket: WebSocket) -> None:
    studio: Studio = websocket.app.state.studio
    channel = websocket.path_params["channel"]
    if channel not in CHANNELS:
        await websocket.close(code=4404, reason=f"unknown channel {channel!r}")
        return
    if not origin_allowed(websocket):
        await websocket.close(code=4403, reason=f"origin {websocket.headers.get('origin')!r} not allowed")
        return
    token, roles = presented_token(websocket), CHANNEL_ROLES[channel]
    if roles is not None and studio.tokens.role_of(token) not in roles:
        await websocket.close(code=4403, reason=f"{' or '.join(roles)} token required")
        return
    try:
        since = int(websocket.query_params.get("since", "0"))
        if since < 0:
            raise ValueError
    except ValueError:
        await websocket.close(code=4400, reason="since: must be a non-negative integer")
        return
    await websocket.accept()
    registered = _graphics_client(websocket, channel, studio)
    if registered:
        await studio.controller.graphics_client(registered)
    serving = asyncio.create_task(studio.hubs[channel].serve(websocket.send_text, since))
    watcher = asyncio.create_task(_until_token_rotated(websocket, studio, token, roles)) if roles is not None else None
    # This handler listens itself (a phone costs one task, not three): when serving or the token
    # watcher ends, they interrupt the listening.
    handler = asyncio.current_task()
    interrupted = False

    def interrupt(_task: asyncio.Task) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            handler.cancel()

    for task in filter(None, (serving, watcher)):
        task.add_done_callback(interrupt)
    try:
        await _listen(websocket, studio, channel)
    except asyncio.CancelledError:
        if not interrupted:
            raise  # the server is stopping
        handler.uncancel()
    finally:
        for task in filter(None, (serving, watcher)):
            task.remove_done_callback(interrupt)
            task.cancel()
        await asyncio.gather(*filter(None, (serving, watcher)), return_exceptions=True)
        if registered:
            await studio.controller.graphics_client(registered.model_copy(update={"connected": False}))
    failure = serving.exception() if serving.done() and not serving.cancelled() else None
    if isinstance(failure, SubscriberOverflow):
        log.warning("%s", failure)
        await websocket.close(code=4408, reason="too far behind: reconnect with since")
    elif failure is not None and not isinstance(failure, (WebSocketDisconnect, RuntimeError)):
        log.error("feed %s failed: %r", channel, failure)


async def _until_token_rotated(websocket: WebSocket, studio: Studio, token: str, roles: tuple[str, ...]) -> None:
    """A socket lives only as long as its token: rotating a role's token cuts its sockets off."""
    while studio.tokens.role_of(token) in roles:
        await asyncio.sleep(2.0)
    await websocket.close(code=4401, reason="token rotated: reconnect with the new one")


def _graphics_client(websocket: WebSocket, channel: str, studio: Studio) -> GraphicsClientData | None:
    """A graphics page says who it is in its URL (``graphic``, ``version``, ``client``)."""
    params = websocket.query_params
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


async def overlay_version(request: Request) -> JSONResponse:
    return JSONResponse({"version": request.app.state.studio.overlay_version}, headers={"Cache-Control": "no-store", **OPEN_TO_PAGES})


async def _listen(websocket: WebSocket, studio: Studio, channel: str) -> None:
    """Until the client goes: on the director channel, run the commands it sends.

    The answer to a socket command is its ``director.command`` event on this same feed (accepted
    or refused, with the reason), so the panel learns the outcome from the log like everyone else.
    Graphics channels are receive-only; anything sent there is ignored.
    """
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if channel != "director":
            continue
        raw = message.get("text") or message.get("bytes") or b""
        try:
            name, command_id, args = parse_command(raw)
        except BadCommand as exc:
            await studio.controller.refuse(str(raw)[:60], "director", str(exc))
            continue
        await studio.controller.command(name, command_id, by="director", args=args)


async def director_page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "director.html")


async def vote_page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "vote.html")


async def judge_page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "judge.html")


async def radar(request: Request) -> JSONResponse:
    """The radar figure (plotly JSON, built in Python) from a channel's state: what that output shows."""
    studio: Studio = request.app.state.studio
    if denied := _require(request, studio, ("director", "graphics")):
        return denied
    channel = request.query_params.get("channel", "program")
    if channel not in ("program", "preview"):
        return _error(400, "channel: must be program or preview")
    figure = radar_figure(studio.hubs[channel].state)
    return JSONResponse(json.loads(json.dumps(figure, cls=plotly.utils.PlotlyJSONEncoder)), headers=OPEN_TO_PAGES)


async def plotly_js(request: Request) -> FileResponse:
    """plotly.js from the plotly package itself: studios are often offline, never a CDN."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript")


async def index(request: Request) -> RedirectResponse:
    return RedirectResponse("/overlays/program.html")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return _error(exc.status_code, exc.detail)


def server_config(app, host: str, port: int, **overrides):
    """How the studio is served, in one place (CLI, tests and benchmarks share it).

    Per-message deflate is off: token events are ~200 bytes, and compressing each one separately
    for every connection cost a third of the send time per client (bench/relay.py).
    """
    import uvicorn

    settings = dict(log_config=None, access_log=False, ws_ping_interval=10, ws_per_message_deflate=False)
    settings.update(overrides)
    return uvicorn.Config(app, host=host, port=port, **settings)


async def audience_feed(studio: Studio, scope, receive, send) -> None:
    """``/ws/audience`` in plain ASGI: the feed thousands of phones hold open, so no Starlette
    WebSocket object and one task per phone (bench/audience_fanout.py: memory per connection).
    Public and receive-only; the same replay/snapshot/overflow rules as every feed."""
    conn = HTTPConnection(scope)
    if (await receive())["type"] != "websocket.connect":
        return
    if not origin_allowed(conn):
        await send({"type": "websocket.close", "code": 4403, "reason": f"origin {conn.headers.get('origin')!r} not allowed"})
        return
    try:
        since = int(conn.query_params.get("since", "0"))
        if since < 0:
            raise ValueError
    except ValueError:
        await send({"type": "websocket.close", "code": 4400, "reason": "since: must be a non-negative integer"})
        return
    await send({"type": "websocket.accept"})

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    serving = asyncio.create_task(studio.hubs["audience"].serve(send_text, since))
    handler = asyncio.current_task()
    interrupted = False

    def interrupt(_task: asyncio.Task) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            handler.cancel()

    serving.add_done_callback(interrupt)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass  # phones only listen; anything they send is ignored
    except asyncio.CancelledError:
        if not interrupted:
            raise
        handler.uncancel()
    finally:
        serving.remove_done_callback(interrupt)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
    failure = serving.exception() if not serving.cancelled() else None
    if isinstance(failure, SubscriberOverflow):
        log.warning("%s", failure)
        await send({"type": "websocket.close", "code": 4408, "reason": "too far behind: reconnect with since"})


class StudioApp:
    """The studio's ASGI app: the vote — the one HTTP path hit thousands of times a second — goes
    straight to its endpoint; everything else through Starlette's routing and error handling."""

    def __init__(self, app: Starlette):
        self.app = app
        self.state = app.state
        self._vote = audience_api.VoteEndpoint()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws/audience":
            await audience_feed(self.state.studio, scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path.startswith("/api/polls/") and path.endswith("/vote") and path.count("/") == 4:
                scope["app"], scope["path_params"] = self.app, {"poll": path[len("/api/polls/") : -len("/vote")]}
                await self._vote(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(studio: Studio) -> StudioApp:
    @asynccontextmanager
    async def lifespan(app: Starlette):
        await studio.start()
        try:
            yield
        finally:
            await studio.stop()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/api/command", command, methods=["POST"]),
            Route("/api/state", state),
            Route("/api/tokens/rotate", rotate_token, methods=["POST"]),
            Route("/director", director_page),
            Route("/vote", vote_page),
            Route("/judge", judge_page),
            Route("/api/audience/device", audience_api.new_device, methods=["POST"]),
            Route("/api/polls/current", audience_api.current_poll),
            Route("/api/polls/{poll}/vote", audience_api.VoteEndpoint(), methods=["POST"]),
            Route("/api/images", image_api.upload_image, methods=["POST"]),
            Route("/api/images/{image_id}", image_api.get_image),
            Route("/api/judge/me", judge_api.me),
            Route("/api/judge/targets", judge_api.targets),
            Route("/api/judge/score", judge_api.score, methods=["POST"]),
            Route("/overlays/version.json", overlay_version),
            Route("/vendor/plotly.min.js", plotly_js),
            Route("/figures/radar", radar),
            WebSocketRoute("/ws/{channel}", feed),
            Mount("/overlays", StaticFiles(directory=OVERLAYS_DIR), name="overlays"),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.studio = studio
    return StudioApp(app)
