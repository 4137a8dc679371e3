"""What viewers' phones talk to: device tokens, the current poll, and the vote itself.

``POST /api/polls/{poll}/vote`` is the hot path (thousands a second during a poll), so it is a
plain ASGI endpoint: limits first (per IP, then per device, in memory, so a flood costs the
flooder a 429 and nobody else anything), then the device token, then a pipelined Lua call to Redis
that dedupes, counts and audits the vote in one step. Every refusal is a 4xx that says why.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse

from store.event_log import STORE_DOWN
from store.polls import REFUSALS

from .device_tokens import BadDeviceToken
from .rate_limit import Limit, RateLimiter

if TYPE_CHECKING:
    from .runtime import Studio

MAX_VOTE_BODY = 1024
CHOICE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
POLL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# What phones send, read without the JSON parser (the hot path); any other JSON goes through it.
PLAIN_VOTE_BODY = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"choice"[ \t\r\n]*:[ \t\r\n]*"([A-Za-z0-9_.:-]{1,64})"[ \t\r\n]*\}[ \t\r\n]*')
PUBLIC_POLL_FIELDS = ("poll_id", "title", "kind", "choices", "allow_change", "status", "revealed", "closes_ts")


Response = tuple[int, bytes, list]  # status, body, headers


class PendingVote(NamedTuple):
    """A vote that passed every check, on its way through Redis (``outcome`` resolves to a
    VoteOutcome, or raises if Redis could not confirm it)."""

    choice: str
    outcome: asyncio.Future


class AudienceGate:
    """The per-process limits a vote (or a new device) must pass."""

    def __init__(self, spec):
        self.per_ip = RateLimiter(Limit(spec.votes_per_s_per_ip, spec.burst_per_ip))
        self.per_device = RateLimiter(Limit(spec.votes_per_s_per_device, spec.burst_per_device))
        self.new_devices = RateLimiter(Limit(spec.devices_per_s_per_ip, spec.device_burst_per_ip))


def json_answer(status: int, payload: dict, extra: list[tuple[bytes, bytes]] = ()) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    return status, body, headers


def _limited(retry_after: float, what: str) -> Response:
    seconds = max(1, int(retry_after + 0.999))
    return json_answer(429, {"error": f"too many {what}: try again in {seconds} s"}, [(b"retry-after", str(seconds).encode())])


class VoteEndpoint:
    """A raw ASGI app (Starlette routes it without building a Request): one viewer's vote. The
    studio's own HTTP protocol (studio/server/vote_protocol.py) answers most votes without ASGI; this
    serves the rest (pipelined requests, ``Expect: 100-continue``, other servers)."""

    async def __call__(self, scope, receive, send) -> None:
        studio: Studio = scope["app"].state.studio
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody is there to answer
            raw += message.get("body", b"")
            if len(raw) > MAX_VOTE_BODY:
                raw = None  # too large: refused below, after the limits and the token
                break
            if not message.get("more_body"):
                break
        ip = scope["client"][0] if scope.get("client") else "-"
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        checked = check_vote(studio, ip, authorization, scope["path_params"]["poll"], raw)
        if isinstance(checked, PendingVote):
            try:
                checked = vote_answer(checked.choice, await checked.outcome)
            except STORE_DOWN as exc:
                checked = vote_answer(checked.choice, exc)
        result, (status, body, headers) = checked
        studio.metrics.observe_vote(result, counted=status == 200)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def check_vote(studio: "Studio", ip: str, authorization: bytes | None, poll_id: str, raw: bytes | None):
    """Everything a vote must pass before Redis, in order: the IP's limit, the device token, the
    device's limit, the body (``None``: over MAX_VOTE_BODY), the poll id and the choice.
    A refusal comes back as ``(result for /metrics, response)``; a vote that passes is handed to
    the batcher and comes back as a PendingVote, for ``vote_answer``."""
    gate = studio.audience_gate
    if wait := gate.per_ip.check(ip):
        return "rate_limited", _limited(wait, "votes from your network")
    token = None
    if authorization is not None:
        text = authorization.decode("latin-1")
        token = text[7:].strip() if text[:7].lower() == "bearer " else None
    try:
        device = studio.device_tokens.verify(token)
    except BadDeviceToken as exc:
        return "bad_token", json_answer(exc.status, {"error": exc.message})
    if wait := gate.per_device.check(device):
        return "rate_limited", _limited(wait, "votes from this device")
    if raw is None:
        return "bad_request", json_answer(413, {"error": f"body over {MAX_VOTE_BODY} bytes"})
    if not POLL.match(poll_id):
        return "unknown_poll", json_answer(404, {"error": "no such poll"})
    if plain := PLAIN_VOTE_BODY.fullmatch(raw):
        choice = plain.group(1).decode()
    else:
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return "bad_request", json_answer(400, {"error": 'body: must be JSON like {"choice": "<choice id>"}'})
        choice = payload.get("choice") if isinstance(payload, dict) else None
        if not isinstance(choice, str) or not CHOICE.match(choice):
            return "bad_request", json_answer(400, {"error": "choice: a choice id from the poll (a string)"})
    return PendingVote(choice, studio.vote_batcher.submit(poll_id, device, choice, ip))


def vote_answer(choice: str, outcome) -> tuple[str, Response]:
    """The answer to a vote Redis has seen (a VoteOutcome), or could not confirm (an exception)."""
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, STORE_DOWN):
            raise outcome
        # The reply was lost, not necessarily the vote: sending it again is safe (a device's vote
        # counts once; a repeat answers "unchanged"), and only a 200 means counted.
        return "store_down", json_answer(
            503,
            {"error": "votes cannot be confirmed right now: send yours again shortly (it never counts twice)"},
            [(b"retry-after", b"2")],
        )
    if not outcome.counted:
        status, message = REFUSALS[outcome.result]
        return outcome.result, json_answer(status, {"error": message, "result": outcome.result, "your_choice": outcome.previous})
    return outcome.result, json_answer(200, {"result": outcome.result, "choice": choice, "previous": outcome.previous})


async def new_device(request: Request) -> JSONResponse:
    """A fresh signed device token for a phone (kept in its local storage)."""
    studio: Studio = request.app.state.studio
    ip = request.client.host if request.client else "-"
    # This process's limit first (a flood is turned away without a Redis call), then the one every
    # process shares: tokens minted on one process and voted on another still count per network.
    wait = studio.audience_gate.new_devices.check(ip) or await studio.poll_store.mint_wait(
        ip, studio.script.audience.devices_per_min_per_ip
    )
    if wait:
        seconds = max(1, int(wait + 0.999))
        return JSONResponse(
            {"error": f"too many new devices from your network: try again in {seconds} s"}, 429, {"Retry-After": str(seconds)}
        )
    device, token = studio.device_tokens.issue()
    return JSONResponse({"device": device, "token": token})


def public_poll(poll: dict) -> dict:
    """A poll as viewers may see it: counts only once revealed."""
    out = {k: poll.get(k) for k in PUBLIC_POLL_FIELDS}
    if poll.get("revealed"):
        out.update(counts=poll["counts"], total=poll["total"], winner=poll.get("winner"))
    return out


async def current_poll(request: Request) -> JSONResponse:
    """The poll phones show now, and (with a device token) this device's own choice."""
    studio: Studio = request.app.state.studio
    state = studio.hubs["audience"].state
    poll = state.polls.get(state.current_poll) if state.current_poll else None
    if poll is None:
        return JSONResponse({"poll": None, "my_choice": None, "seq": state.last_seq})
    mine = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        try:
            device = studio.device_tokens.verify(header[7:].strip())
        except BadDeviceToken as exc:
            return JSONResponse({"error": exc.message}, exc.status)
        mine = await studio.poll_store.choice_of(poll["poll_id"], device)
    return JSONResponse({"poll": public_poll(poll), "my_choice": mine, "seq": state.last_seq})
