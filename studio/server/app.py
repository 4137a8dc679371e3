"""The studio's HTTP and WebSocket surface (Starlette, and plain ASGI for the hot paths).

- ``/ws/{channel}?since=N&token=T`` — the event feeds (studio/server/feeds.py): program / preview
  (graphics or director token), director (director token), audience (public). A frame holds one
  event, or a JSON array of events in seq order.
- ``POST /api/tokens/rotate`` — a new secret for a role, without a restart (director).
- ``POST /api/images`` — the director uploads a picture for image-to-poem (studio/server/image_api.py).
- ``/vote`` + ``/api/audience/device``, ``/api/polls/...`` — viewers' phones (studio/server/audience_api.py);
  ``/judge`` + ``/api/judge/...`` — the judges (studio/server/judge_api.py).
- ``POST /api/command`` — director commands; ``GET /api/state`` — what the director sees.
- ``/healthz`` (the process answers), ``/readyz`` (Redis answers and the engine pool has started:
  200, else 503 with the reason), ``/metrics`` (Prometheus text, studio/server/telemetry.py; the director
  or graphics token, as for every read-only figure).
- ``GET /api/locale`` — the show's language and its message table (public: the phones' and the
  judges' pages read their fixed text from it; the graphics get it in ``show.opened``).
- ``/overlays/...`` — the on-air graphics (``version.json``: the overlay files' version);
  ``/vendor/plotly.min.js`` — plotly.js from the plotly package; ``/director`` — the panel, whose
  stylesheet and scripts are ``/static/...`` (studio/server/static: public, read-only, no secrets).
Every error is JSON with the reason; nothing here returns a 500 for bad input. While Redis is
unreachable, what needs it answers 503 with ``Retry-After`` and says so (nothing is half-done).
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import plotly.utils
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.graphics import OVERLAYS_DIR
from core.locale import Messages, table
from engine_pool.attention import AttentionMap
from results.attention_figure import attention_figure
from results.radar import radar_figure
from store.event_log import STORE_DOWN, EventLogUnavailable
from studio.show.commands import MAX_COMMAND_BODY, BadCommand, CommandTooLarge, parse_command

from . import audience_api, image_api, judge_api
from .auth import TokenError, require_role
from .feeds import serve_feed
from .follower import controller_only
from .runtime import Studio
from .telemetry import CONTENT_TYPE as METRICS_CONTENT_TYPE

log = logging.getLogger("gavel.app")

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Read-only, non-secret data that graphics pages loaded from disk (CasparCG file://) must read.
OPEN_TO_PAGES = {"Access-Control-Allow-Origin": "*"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _require(request: Request, studio: Studio, roles: tuple[str, ...]) -> JSONResponse | None:
    return require_role(request, studio.tokens, roles)


def _require_director(request: Request, studio: Studio) -> JSONResponse | None:
    return _require(request, studio, ("director",))


async def command(request: Request) -> JSONResponse:
    studio: Studio = request.app.state.studio
    if denied := _require_director(request, studio) or await controller_only(studio):
        return denied
    try:
        name, command_id, args = parse_command(await request.body())
    except BadCommand as exc:
        return _error(413 if isinstance(exc, CommandTooLarge) else 400, str(exc))
    result = await studio.controller.command(name, command_id, by="director", args=args)
    return JSONResponse(result.to_dict(), status_code=200 if result.ok else 409)


async def state(request: Request) -> JSONResponse:
    studio: Studio = request.app.state.studio
    if denied := _require_director(request, studio):
        return denied
    if studio.follower:  # what this process's feeds know: the director channel's state
        hub = studio.hubs["director"]
        return JSONResponse({**hub.state.to_dict(), "follower": True, "last_seq": hub.last_seq, "store": studio.store_watch.status()})
    show = studio.controller.state.to_dict()
    show["engines"] = await studio.pool.health() if studio.pool.ready.is_set() else {}
    show["engines_ready"] = studio.pool.ready.is_set()
    show["engine_errors"] = studio.pool.start_errors
    show["last_seq"] = studio.controller.state.last_seq
    show["safety"] = {"delay_s": studio.script.safety.delay_s}
    show["store"] = studio.store_watch.status()
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
        return _error(400, 'body: must be JSON {"role": ...}')
    role = payload.get("role") if isinstance(payload, dict) else None
    try:
        token = studio.tokens.rotate(str(role))
    except TokenError as exc:
        return _error(400, str(exc))
    log.warning("token for %s rotated by the director", role)
    return JSONResponse({"role": role, "token": token, "file": str(studio.tokens.path)})


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and its event loop answers (a liveness probe)."""
    return JSONResponse({"ok": True})


READY_REDIS_TIMEOUT_S = 2.0


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: Redis answers and the engine pool has started. 503 with the reason if not.

    An engine that failed to start does not make the studio unready (its contestants DNF and the
    show goes on); it is listed in ``engine_errors``."""
    studio: Studio = request.app.state.studio
    problems = []
    try:
        await asyncio.wait_for(studio.event_log.client.ping(), READY_REDIS_TIMEOUT_S)
    except Exception as exc:  # any failure to answer is "not ready", with what it was
        problems.append(f"redis: {type(exc).__name__}: {exc}" if str(exc) else f"redis: {type(exc).__name__}")
    # A follower runs no engines (the controller does): Redis is all it needs.
    pool = studio.pool
    if pool is not None and not pool.ready.is_set():
        problems.append("engines: still starting")
    body = {"ready": not problems, "reason": "; ".join(problems), "engine_errors": pool.start_errors if pool is not None else {}}
    return JSONResponse(body, status_code=503 if problems else 200, headers={"Cache-Control": "no-store"})


async def metrics(request: Request) -> Response:
    """Prometheus text format. Needs the director or graphics token (Prometheus:
    ``authorization: {credentials: <graphics token>}``): the figures are read-only, but say how
    many votes came in before the results are revealed."""
    studio: Studio = request.app.state.studio
    if denied := _require(request, studio, ("director", "graphics")):
        return denied
    return Response(studio.metrics.render(), media_type=METRICS_CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def overlay_version(request: Request) -> JSONResponse:
    return JSONResponse({"version": request.app.state.studio.overlay_version}, headers={"Cache-Control": "no-store", **OPEN_TO_PAGES})


async def show_locale(request: Request) -> JSONResponse:
    """The show's on-air language and its whole message table (overlays/locales/<locale>.json):
    public, the same for everyone, nothing secret; cacheable for a minute."""
    locale = request.app.state.studio.script.show.locale
    return JSONResponse({"locale": locale, "messages": table(locale)}, headers={"Cache-Control": "public, max-age=60", **OPEN_TO_PAGES})


class RevalidatedFiles(StaticFiles):
    """Static files the browser asks about again on every load (a 304 while unchanged): a panel
    reloaded after the studio's files changed never runs an old script against new markup."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


async def director_page(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "director.html", headers={"Cache-Control": "no-cache"})


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


async def attention(request: Request) -> JSONResponse:
    """An attention heatmap (plotly JSON) from the cache: ``key`` from an ``attention`` event, ``at``
    the answer token to focus (0-based; the window follows it)."""
    studio: Studio = request.app.state.studio
    if denied := _require(request, studio, ("director", "graphics")) or await controller_only(studio):
        return denied  # the heatmaps are cached by the controller's explain desk
    key = request.query_params.get("key", "")
    path = studio.controller.explain.path_of(key)
    if path is None:
        return _error(404, f"key: no attention heatmap {key[:40]!r} in this studio's cache")
    try:
        at = int(request.query_params.get("at", "0"))
    except ValueError:
        return _error(400, "at: must be an integer (the answer token to focus)")
    figure = attention_figure(AttentionMap.load(path), at, Messages(studio.script.show.locale))
    return JSONResponse(json.loads(json.dumps(figure, cls=plotly.utils.PlotlyJSONEncoder)), headers=OPEN_TO_PAGES)


async def plotly_js(request: Request) -> FileResponse:
    """plotly.js from the plotly package itself: studios are often offline, never a CDN."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript")


async def index(request: Request) -> RedirectResponse:
    return RedirectResponse("/overlays/program.html")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return _error(exc.status_code, exc.detail)


STORE_DOWN_MESSAGE = "the show's store (Redis) is unreachable: nothing was done, try again shortly"


async def _store_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s while redis is unreachable: %s", request.method, request.url.path, exc)
    # The event log's refusal names the event that was not recorded: say which.
    error = f"{STORE_DOWN_MESSAGE} ({exc})" if isinstance(exc, EventLogUnavailable) else STORE_DOWN_MESSAGE
    return JSONResponse({"error": error}, status_code=503, headers={"Retry-After": "2"})


def server_config(app, host: str, port: int, **overrides):
    """How the studio is served, in one place (CLI, tests and benchmarks share it).

    Per-message deflate is off: token events are ~200 bytes, and compressing each one separately
    for every connection cost a third of the send time per client (bench/relay.py). HTTP is
    uvicorn's httptools protocol with votes answered without ASGI (studio/server/vote_protocol.py);
    WebSockets uvicorn's sansio protocol with less kept per socket (studio/server/ws_protocol.py).
    """
    import uvicorn

    from .vote_protocol import StudioHttpProtocol
    from .ws_protocol import StudioWebSocketProtocol

    settings = dict(
        log_config=None,
        access_log=False,
        ws_ping_interval=10,
        ws_per_message_deflate=False,
        http=StudioHttpProtocol,
        ws=StudioWebSocketProtocol,
    )
    settings.update(overrides)
    return uvicorn.Config(app, host=host, port=port, **settings)


class StudioApp:
    """The studio's ASGI app: the WebSocket feeds (studio/server/feeds.py) and the vote — the paths hit
    thousands of times a second — go straight to their handlers; everything else through
    Starlette's routing and error handling."""

    def __init__(self, app: Starlette):
        self.app = app
        self.state = app.state
        self._vote = audience_api.VoteEndpoint()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith("/ws/"):
            await serve_feed(self.state.studio, scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path.startswith("/api/polls/") and path.endswith("/vote") and path.count("/") == 4:
                scope["app"], scope["path_params"] = self.app, {"poll": path[len("/api/polls/") : -len("/vote")]}
                await self._vote(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(studio: Studio, manage_studio: bool = True) -> StudioApp:
    """``manage_studio``: start and stop the studio with the server (the CLI does it itself, to
    report a failed start in one line)."""

    @asynccontextmanager
    async def lifespan(app: Starlette):
        if not manage_studio:
            yield
            return
        await studio.start()
        try:
            yield
        finally:
            await studio.stop()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
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
            Route("/api/judge/decide", judge_api.decide, methods=["POST"]),
            Route("/api/locale", show_locale),
            Route("/overlays/version.json", overlay_version),
            Route("/vendor/plotly.min.js", plotly_js),
            Route("/figures/radar", radar),
            Route("/figures/attention", attention),
            Mount("/overlays", StaticFiles(directory=OVERLAYS_DIR), name="overlays"),
            Mount("/static", RevalidatedFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, EventLogUnavailable: _store_down, **{kind: _store_down for kind in STORE_DOWN}},
    )
    app.state.studio = studio
    return StudioApp(app)
