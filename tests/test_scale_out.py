"""Scale-out: one controller process and two followers (``gavel serve --follower``) share one Redis.

Three real processes serve one show from one external Redis (``REDIS_URL``) and one data dir's
secrets. Graphics and phones are spread over all three; a phone votes once at one process and
again at another. Mid-stage one follower is killed with SIGKILL. Then:

- every client, on whichever process, ends with the same events in the same order as the others
  on its channel (the feeds all tail the same streams);
- only the killed follower's clients reconnected (to another process, with their last seq); the
  others never noticed, and the show went on;
- the tally equals the devices that got a 200, once each, wherever their votes landed.
"""

from __future__ import annotations

import itertools
import threading
import time

import httpx
from websockets.sync.client import connect

from core.events import frame_events

from .fault_kit import ExternalRedis, StudioProcess, write_replay_show

DEVICES = 150


class Viewer:
    """A graphics page or phone on one process; if that process dies it moves to the next one
    (as a load balancer would send it) with its last seq."""

    def __init__(self, processes: list[StudioProcess], first: int, channel: str, graphics_token: str):
        self.order = itertools.cycle(processes[first:] + processes[:first])
        self.channel, self.token = channel, graphics_token
        self.events: list[dict] = []
        self.reconnects = 0
        self.resumed_after: list[float] = []  # seconds from losing the socket to the next event
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _done(self, event: dict) -> bool:
        if self.channel == "audience":
            return event["type"] == "poll.closed"
        return event["type"] == "show.status" and event["data"]["status"] == "completed"

    def _run(self) -> None:
        process, lost_at = next(self.order), None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            since = self.events[-1]["seq"] if self.events else 0
            auth = "" if self.channel == "audience" else f"&token={self.token}"
            try:
                with connect(f"{process.ws_base}/ws/{self.channel}?since={since}{auth}", open_timeout=5) as ws:
                    while True:
                        for event in frame_events(ws.recv(timeout=60)):
                            if lost_at is not None:
                                self.resumed_after.append(time.monotonic() - lost_at)
                                lost_at = None
                            self.events.append(event)
                            if self._done(event):
                                return
            except Exception:
                if lost_at is None:
                    lost_at = time.monotonic()
                self.reconnects += 1
                process = next(self.order)
                time.sleep(0.1)


def test_a_controller_and_two_followers_on_one_redis_serve_one_show(tmp_path):
    redis_server = ExternalRedis(tmp_path / "redis")
    redis_server.start()
    env = {"REDIS_URL": redis_server.url}
    script = write_replay_show(tmp_path / "show", tokens=120, tokens_per_s=60, questions=4, stages=1)
    data_dir = tmp_path / "data"
    controller = StudioProcess(script, data_dir, env=env).start()
    followers = [StudioProcess(script, data_dir, args=("--follower",), env=env).start() for _ in range(2)]
    processes = [controller, *followers]
    try:
        # A follower takes no commands and says where they go.
        refused = followers[0].command("start")
        assert refused.status_code == 409 and "follower" in refused.json()["error"]
        assert controller.command("poll_open", {"poll": "p1", "title": "Who?", "choices": ["a", "b"]}).json()["ok"]
        assert controller.command("poll_reveal", {"poll": "p1"}).json()["ok"]
        viewers = {
            (channel, i): Viewer(processes, i, channel, controller.graphics) for channel in ("program", "audience") for i in range(3)
        }
        time.sleep(0.5)
        tokens = [httpx.post(f"{processes[i % 3].base}/api/audience/device", timeout=10).json()["token"] for i in range(DEVICES)]
        status: dict[int, int] = {}

        def vote(i: int, at: StudioProcess) -> None:
            try:
                reply = httpx.post(
                    f"{at.base}/api/polls/p1/vote",
                    json={"choice": "ab"[i % 2]},
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                    timeout=10,
                )
                if reply.status_code == 200 or status.get(i) != 200:
                    status[i] = reply.status_code
            except httpx.TransportError:
                status.setdefault(i, 0)

        for i in range(DEVICES // 2):  # votes land on all three processes, each phone twice
            vote(i, processes[i % 3])
            vote(i, processes[(i + 1) % 3])
        assert controller.command("start").json()["ok"]
        controller.wait_for(lambda s: s["closed_questions"].get("0"), what="a question to close")
        followers[0].kill9()
        seen_at_kill = len(viewers[("program", 0)].events)
        killed_at = time.monotonic()
        live = [controller, followers[1]]
        for i in range(DEVICES // 2, DEVICES):
            vote(i, live[i % 2])
            vote(i, live[(i + 1) % 2])
        for i in [i for i, s in status.items() if s != 200]:
            vote(i, controller)
        controller.wait_for(lambda s: s["show"]["status"] == "completed", what="the show to complete")
        assert controller.command("poll_close", {"poll": "p1"}).json()["ok"]
        for viewer in viewers.values():
            viewer.thread.join(timeout=60)
        final = controller.state()
    finally:
        for process in processes:
            process.stop()
        redis_server.kill()

    for channel in ("program", "audience"):
        streams = [viewers[(channel, i)].events for i in range(3)]
        seqs = [e["seq"] for e in streams[0]]
        assert seqs == list(range(1, len(seqs) + 1))
        assert streams[0] == streams[1] == streams[2], f"{channel}: the processes disagree"
    # Only the killed follower's clients (index 1 started there) noticed anything.
    assert [viewers[(c, 1)].reconnects > 0 for c in ("program", "audience")] == [True, True]
    assert [viewers[(c, i)].reconnects for c in ("program", "audience") for i in (0, 2)] == [0, 0, 0, 0]
    assert final["stages"][0]["status"] == "completed"
    assert any(e["type"] == "stage.ended" for e in viewers[("program", 0)].events[seen_at_kill:]), "the kill came mid-stage"
    assert set(status.values()) == {200} and len(status) == DEVICES
    assert sum(final["polls"]["p1"]["counts"].values()) == DEVICES
    resumed = [t for v in viewers.values() for t in v.resumed_after]
    print(
        f"\ncontroller + 2 followers on one Redis: {len(viewers[('program', 0)].events)} program events identical on all 3 "
        f"processes; follower killed {time.monotonic() - killed_at:.0f} s before the end, its 2 clients resumed elsewhere in "
        f"{max(resumed):.2f} s at most, the other 4 never reconnected; {DEVICES} devices voted twice at 2 processes: tally {DEVICES}"
    )
