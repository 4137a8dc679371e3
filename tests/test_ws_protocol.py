"""The studio's WebSocket protocol (studio/server/ws_protocol.py): uvicorn's sansio protocol with a lean
receive queue and writability event, and the handshake let go once accepted. The queue and the
event keep the semantics uvicorn relies on; a real studio serves its feeds with it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.sync.client import connect

from studio.server.runtime import Studio
from studio.server.ws_protocol import LeanEvent, LeanQueue, StudioWebSocketProtocol
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent


def test_the_lean_queue_hands_items_over_in_order_and_survives_a_cancelled_get():
    async def scenario():
        queue = LeanQueue()
        assert queue.empty()
        queue.put_nowait(1)
        queue.put_nowait(2)
        assert not queue.empty() and await queue.get() == 1 and await queue.get() == 2 and queue.empty()
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        queue.put_nowait(3)
        assert await asyncio.wait_for(waiting, 1) == 3
        abandoned = asyncio.create_task(queue.get())  # uvicorn's receive() cancelled mid-wait
        await asyncio.sleep(0)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        queue.put_nowait(4)  # nobody waiting: kept for the next get
        assert await asyncio.wait_for(queue.get(), 1) == 4

    asyncio.run(scenario())


def test_the_lean_event_wakes_every_waiter_and_waits_again_after_clear():
    async def scenario():
        event = LeanEvent()
        assert not event.is_set()
        waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        event.set()
        assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
        assert await event.wait() is True  # set: returns at once
        event.clear()
        late = asyncio.create_task(event.wait())
        gone = asyncio.create_task(event.wait())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert not late.done()
        event.set()
        assert await asyncio.wait_for(late, 1) is True

    asyncio.run(scenario())


def test_studio_sockets_use_it_and_let_the_handshake_go(tmp_path):
    path = tmp_path / "show.yaml"
    path.write_text((REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/"))
    with LiveStudio(Studio(load_script(path), tmp_path / "data", pool=engineless_pool())) as live:
        with connect(f"{live.ws_base}/ws/audience?since=0", open_timeout=30):
            protocols = [
                (type(p), p.request, p.response, type(p.queue), type(p.writable))
                for p in live.server.server_state.connections
                if isinstance(p, StudioWebSocketProtocol)
            ]
            assert len(protocols) == 1
            [(kind, request, response, queue, writable)] = protocols
            assert kind is StudioWebSocketProtocol and request is None and response is None
            assert queue is LeanQueue and writable is LeanEvent
