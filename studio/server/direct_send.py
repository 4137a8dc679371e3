"""A broadcast's shortcut: one text frame, encoded once, written straight to each socket.

A channel's live events are the same bytes for every caught-up client, yet each ASGI send frames
them again (websockets' encoder) and wakes that client's task: ~20 µs per client per event
(bench/relay.py, bench/audience_fanout.py). uvicorn's websockets-sansio protocol writes a text
frame to its transport synchronously inside ``send`` anyway, so writing the same frame there
ourselves is the same operation, minus the framing and the wake-up.

Only for that protocol (checked by class), and only while it could take the frame itself: open,
not closing, and writable (not paused by a slow reader's full buffer). Otherwise the writer says
no and the client gets its events through the normal ASGI path, which waits for it.
"""

from __future__ import annotations

from typing import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DirectWrite = Callable[[bytes], bool]  # writes a complete frame now, or returns False


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final WebSocket text frame (RFC 6455 §5.2: servers never mask)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


def direct_writer(asgi_send) -> DirectWrite | None:
    """The shortcut for this connection, or None when the server is not uvicorn's sansio one."""
    protocol = getattr(asgi_send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    transport, writable = protocol.transport, protocol.writable

    def write(frame: bytes) -> bool:
        if (
            protocol.disconnected
            or protocol.close_sent
            or not protocol.handshake_complete
            or not writable.is_set()
            or transport.is_closing()
        ):
            return False
        transport.write(frame)
        return True

    return write
