"""The studio's HTTP protocol: uvicorn's httptools one, answering viewers' votes without ASGI.

A vote is the studio's busiest HTTP request (20,000 a second per process is the target,
bench/votes.py). Through ASGI each one costs a task, a scope, the proxy-headers middleware and
two send messages — as much CPU as the vote's own work. Here a vote is answered from the parser's
callbacks: checked when its body is complete (``audience_api.check_vote``: the same checks, in
the same order, as the ASGI endpoint), handed to the vote batcher, and its response written to
the transport from the batcher's future, with no task at all.

Everything else, and any vote this path cannot take as simply — behind another request on the
same connection (pipelining), with ``Expect: 100-continue``, an upgrade, or on an app that is not
a studio (``gavel replay``) — goes through uvicorn's ASGI path unchanged, where
``audience_api.VoteEndpoint`` answers it. The vote "cycle" stands in for uvicorn's request cycle
(``response_complete``, ``keep_alive``, ``disconnected``, ``message_event``), so uvicorn's own
pipelining, keep-alive and shutdown logic treat it like any request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .audience_api import MAX_VOTE_BODY, PendingVote, check_vote, json_answer, vote_answer

if TYPE_CHECKING:
    from .runtime import Studio

log = logging.getLogger("gavel.votes")
VOTE_PREFIX, VOTE_SUFFIX = b"/api/polls/", b"/vote"


class _NoEvent:
    """uvicorn sets its cycle's message event on body data and on disconnect; nobody waits here."""

    def set(self) -> None:
        pass


_NO_EVENT = _NoEvent()


class _VoteCycle:
    __slots__ = ("poll_id", "authorization", "ip", "keep_alive", "body", "response_complete", "disconnected", "message_event")

    def __init__(self, poll_id: str, authorization: bytes | None, ip: str, keep_alive: bool):
        self.poll_id, self.authorization, self.ip, self.keep_alive = poll_id, authorization, ip, keep_alive
        self.body: bytearray | None = bytearray()  # None once over MAX_VOTE_BODY
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT


class StudioHttpProtocol(HttpToolsProtocol):
    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop)
        self.studio: Studio | None = getattr(getattr(config.app, "state", None), "studio", None)
        # uvicorn's ProxyHeadersMiddleware, when it wraps the app: who may say who the client is.
        self.trusted_proxies = getattr(config.loaded_app, "trusted_hosts", None)

    def on_headers_complete(self) -> None:
        url = self.url
        if (
            self.studio is not None
            and url.startswith(VOTE_PREFIX)
            and url.endswith(VOTE_SUFFIX)
            and url.count(b"/") == 4
            and (self.cycle is None or self.cycle.response_complete)
            and not self.expect_100_continue
            and self.parser.get_method() == b"POST"
            and not self.parser.should_upgrade()
        ):
            poll_id = url[len(VOTE_PREFIX) : -len(VOTE_SUFFIX)].decode("latin-1")
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            authorization, forwarded_for = None, []
            for name, value in self.headers:
                if name == b"authorization":
                    authorization = value
                elif name == b"x-forwarded-for":
                    forwarded_for.append(value)
            self.cycle = _VoteCycle(poll_id, authorization, self._client_ip(forwarded_for), keep_alive)
            return
        super().on_headers_complete()

    def _client_ip(self, forwarded_for: list[bytes]) -> str:
        """What uvicorn's proxy-headers middleware makes the ASGI client: the peer, unless a
        trusted proxy names the client (its own rule, so both paths agree)."""
        peer = self.client[0] if self.client else "-"
        if forwarded_for and self.trusted_proxies is not None and peer in self.trusted_proxies:
            host, _port = self.trusted_proxies.get_trusted_client_address(b", ".join(forwarded_for).decode("latin-1"))
            return host or peer
        return peer

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if type(cycle) is not _VoteCycle:
            super().on_body(body)
        elif cycle.body is not None:
            cycle.body += body
            if len(cycle.body) > MAX_VOTE_BODY:
                cycle.body = None  # the rest is read and dropped; the answer is a 413

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if type(cycle) is not _VoteCycle:
            super().on_message_complete()
            return
        try:
            checked = check_vote(
                self.studio, cycle.ip, cycle.authorization, cycle.poll_id, None if cycle.body is None else bytes(cycle.body)
            )
        except Exception:
            checked = _internal_error()
        if isinstance(checked, PendingVote):
            checked.outcome.add_done_callback(lambda outcome: self._answer(cycle, _answer_to(checked.choice, outcome)))
        else:
            self._answer(cycle, checked)

    def _answer(self, cycle: _VoteCycle, answer) -> None:
        result, (status, body, headers) = answer
        self.studio.metrics.observe_vote(result, counted=status == 200)
        cycle.response_complete = True
        if cycle.disconnected or self.transport.is_closing():
            return
        content = [STATUS_LINE[status], _header_block(self.server_state.default_headers)]
        for name, value in headers:
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        self.transport.write(b"".join(content))
        if cycle.keep_alive:
            self.on_response_complete()  # uvicorn's: the next pipelined request, or the keep-alive timer
        else:
            self.transport.close()


_headers_seen: list = [None, b""]  # uvicorn's default headers (server, date) and their bytes


def _header_block(default_headers: list) -> bytes:
    """uvicorn's default headers as bytes, joined again only when uvicorn renews them (each second, for the date)."""
    if _headers_seen[0] is not default_headers:
        _headers_seen[:] = [default_headers, b"".join(name + b": " + value + b"\r\n" for name, value in default_headers)]
    return _headers_seen[1]


def _answer_to(choice: str, outcome):
    """The answer once Redis has spoken. There is no task here to carry an unexpected error to
    uvicorn's handler, so it is logged and answered as uvicorn would (``_internal_error``): a 500."""
    try:
        if outcome.cancelled():
            raise RuntimeError("the vote's batch was cancelled")
        return vote_answer(choice, outcome.exception() or outcome.result())
    except Exception:
        return _internal_error()


def _internal_error():
    log.exception("vote failed unexpectedly")
    return "error", json_answer(500, {"error": "internal error: the vote may not have counted, send it again"})
