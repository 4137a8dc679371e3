"""The show controller's state machine on a real Redis, without running a model: a stage waits
for its engines, which these tests never start, so it stays 'running' until the director acts."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from engine_pool.pool import EnginePool, Route
from store.event_log import EventLog
from studio.show.controller import ShowController
from studio.show.rundown import load_script

from .conftest import run

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "show.yaml"
    path.write_text(
        (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml")
        + f"""  - kind: speed_qa
    title: "Second round"
    bank: {REPO}/show_scripts/banks/demo.yaml
    questions: 1
"""
    )
    return load_script(path)


def _unstarted_pool(script) -> EnginePool:
    # Real routing, no engine process: stages block on pool.ready, which nobody sets.
    return EnginePool({"local": object()}, {c.id: Route("local") for c in script.contestants})  # type: ignore[dict-item]


async def _controller(redis_url, show_id, script) -> tuple[ShowController, aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    controller = ShowController(script, EventLog(client, show_id), _unstarted_pool(script))
    await controller.open()
    return controller, client


def test_the_rundown_state_machine(redis_url, show_id, script):
    async def go():
        c, client = await _controller(redis_url, show_id, script)
        assert c.state.status == "idle"
        assert not (await c.command("next", "n0", "director")).ok  # not started
        start = await c.command("start", "s1", "director")
        assert start.ok and start.changed and c.state.stage_status(0) == "running"
        refused = await c.command("next", "n1", "director")
        assert not refused.ok and "still running" in refused.reason
        assert (await c.command("pause", "p1", "director")).changed
        assert not (await c.command("pause", "p2", "director")).changed  # already paused
        assert c.state.status == "paused"
        assert (await c.command("resume", "r1", "director")).changed
        skip = await c.command("skip", "k1", "director")
        assert skip.changed and c.state.stage_status(0) == "skipped"
        nxt = await c.command("next", "n2", "director")
        assert nxt.ok and c.state.current_stage == 1 and c.state.stage_status(1) == "running"
        abort = await c.command("abort", "a1", "director")
        assert abort.changed and c.state.status == "aborted" and c.state.stage_status(1) == "aborted"
        assert not (await c.command("start", "s2", "director")).ok
        await c.close()
        await client.aclose()

    run(go())


def test_a_repeated_command_id_returns_the_first_result_and_acts_once(redis_url, show_id, script):
    async def go():
        c, client = await _controller(redis_url, show_id, script)
        await c.command("start", "s1", "director")
        await c.command("skip", "k1", "director")
        first = await c.command("next", "press-7", "director")
        again = await c.command("next", "press-7", "director")
        assert first == again and first.changed and c.state.current_stage == 1
        log = [e.parse() for e in await c.log.read("director")]
        assert [e.data.command_id for e in log if e.type == "director.command"] == ["s1", "k1", "press-7"]
        await c.close()
        await client.aclose()

    run(go())


def test_a_command_id_is_bound_to_its_command_and_args(redis_url, show_id, script):
    """A Companion button with a fixed id: the second 'next' must not answer with the week-old
    result of another command, nor with the same command's result for other args."""

    async def go():
        c, client = await _controller(redis_url, show_id, script)
        await c.command("start", "sd-1", "director")
        reused = await c.command("skip", "sd-1", "director")
        assert not reused.ok and not reused.changed
        assert reused.reason == "command_id 'sd-1' was already used for 'start': send a fresh command_id"
        assert c.state.stage_status(0) == "running"  # the skip did not act
        await c.command("cue", "cue-1", "director", {"graphic": "lower_third", "data": {"name": "Ada"}})
        other_args = await c.command("cue", "cue-1", "director", {"graphic": "lower_third", "data": {"name": "Bao"}})
        assert not other_args.ok and "already used for 'cue' with other args" in other_args.reason
        assert c.state.graphics["preview"]["lower_third"]["data"] == {"name": "Ada"}
        same = await c.command("cue", "cue-1", "director", {"data": {"name": "Ada"}, "graphic": "lower_third"})
        assert same.ok  # the same call (keys in another order) is a retry
        log = [e.parse() for e in await c.log.read("director")]
        refusals = [e.data for e in log if e.type == "director.command" and not e.data.accepted]
        assert [(r.command, r.command_id) for r in refusals] == [("skip", "sd-1"), ("cue", "cue-1")]
        await c.close()
        await client.aclose()

    run(go())


def test_cue_take_and_panic(redis_url, show_id, script):
    async def go():
        c, client = await _controller(redis_url, show_id, script)
        assert c.state.graphics["program"] == {"duel": {"visible": True, "data": {}}}  # on air from the start
        cue = await c.command("cue", "c1", "director", {"graphic": "lower_third", "data": {"contestant": "ada"}})
        assert cue.changed and "lower_third" not in c.state.graphics["program"]
        assert c.state.graphics["preview"]["lower_third"] == {"visible": True, "data": {"contestant": "ada"}}
        assert not (await c.command("cue", "c2", "director", {"graphic": "lower_third", "data": {"contestant": "ada"}})).changed
        bad = await c.command("cue", "c3", "director", {"graphic": "fireworks"})
        assert not bad.ok and "unknown 'fireworks'" in bad.reason
        assert (await c.command("take", "t1", "director")).changed
        assert c.state.graphics["program"]["lower_third"]["visible"]
        assert not (await c.command("take", "t2", "director")).changed
        assert (await c.command("panic", "x1", "director")).changed
        assert not any(g["visible"] for out in c.state.graphics.values() for g in out.values())
        program = [e.parse().type for e in await c.log.read("program")]
        preview = [e.parse().type for e in await c.log.read("preview")]
        assert "graphic.cued" not in program and "graphics.taken" not in preview
        assert program[-1] == preview[-1] == "graphics.cleared"
        await c.close()
        await client.aclose()

    run(go())


def test_a_new_controller_rebuilds_everything_from_the_log(redis_url, show_id, script):
    async def go():
        c, client = await _controller(redis_url, show_id, script)
        await c.command("start", "s1", "director")
        await c.command("pause", "p1", "director")
        await c.command("cue", "c1", "director", {"graphic": "title_card", "data": {"title": "Final"}})
        before = c.state.to_dict()
        await c.close()
        again, client2 = await _controller(redis_url, show_id, script)
        assert again.state.to_dict() == before
        assert again.state.status == "paused" and again.state.stage_status(0) == "running"
        assert (await again.command("resume", "r1", "director")).changed
        await again.close()
        await client.aclose()
        await client2.aclose()

    run(go())
