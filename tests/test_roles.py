"""Roles and access on a real studio: every route and socket × every role, table-driven — only
the allowed roles get through; browsers' origins are checked; a rotated token stops working at
once (its sockets are closed) without a restart, also when rotated from the command line."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from core.events import CHANNELS
from studio.server.app import create_app
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool, subprocess_env

REPO = Path(__file__).resolve().parent.parent
GAVEL = [str(REPO / ".venv" / "bin" / "gavel")]
ROLES = ("nobody", "viewer", "judge", "graphics", "director")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roles")
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    (tmp / "show.yaml").write_text(text + "\njudging:\n  judges: [{id: li, name: Judge Li}]\n")
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data", pool=engineless_pool())) as studio:
        assert studio.post_command("poll_open", {"poll": "p1", "title": "Which?", "choices": ["a", "b"], "allow_change": True}).json()[
            "changed"
        ]
        yield studio


def _tokens(live) -> dict[str, str | None]:
    viewer = httpx.post(f"{live.base}/api/audience/device").json()["token"]
    return {
        "nobody": None,
        "viewer": viewer,
        "judge": live.studio.tokens.judges["li"],
        "graphics": live.graphics_token,
        "director": live.director_token,
    }


EVERYONE = set(ROLES)
# The app's route -> (method, a path to try, json body, roles allowed, controller only). Bodies are
# valid for the allowed role, so "allowed" shows as a 2xx (or a 4xx that is not about who you
# are: 400 on a harmless body, 404 for an id that is not there). Keyed by the app's own route
# paths: a route the app has and this table lacks fails the test.
HTTP = {
    "/": ("GET", "/", None, EVERYONE, False),
    "/healthz": ("GET", "/healthz", None, EVERYONE, False),
    "/readyz": ("GET", "/readyz", None, EVERYONE, False),
    "/metrics": ("GET", "/metrics", None, {"director", "graphics"}, False),
    "/api/command": ("POST", "/api/command", {"command": "cue", "args": {"graphic": "title_card", "visible": False}}, {"director"}, True),
    "/api/state": ("GET", "/api/state", None, {"director"}, False),
    "/api/tokens/rotate": ("POST", "/api/tokens/rotate", {"role": "no-such-role"}, {"director"}, False),
    "/director": ("GET", "/director", None, EVERYONE, False),  # the pages ask for their token themselves
    "/vote": ("GET", "/vote", None, EVERYONE, False),
    "/judge": ("GET", "/judge", None, EVERYONE, False),
    "/api/audience/device": ("POST", "/api/audience/device", None, EVERYONE, False),
    # public, but a token that is not a device token is refused, so the phone knows to re-register
    "/api/polls/current": ("GET", "/api/polls/current", None, {"nobody", "viewer"}, False),
    "/api/polls/{poll}/vote": ("POST", "/api/polls/p1/vote", {"choice": "a"}, {"viewer"}, False),
    "/api/images": ("POST", "/api/images", {"not": "an image"}, {"director"}, True),
    "/api/images/{image_id}": ("GET", "/api/images/0123456789abcdef", None, {"director", "graphics"}, False),
    "/api/judge/me": ("GET", "/api/judge/me", None, {"judge"}, True),
    "/api/judge/targets": ("GET", "/api/judge/targets", None, {"judge"}, True),
    "/api/judge/score": ("POST", "/api/judge/score", {"target": "answer:0:nothing:ada", "scores": {}}, {"judge"}, True),
    "/api/judge/decide": ("POST", "/api/judge/decide", {"question_id": "q0", "contestant": "ada", "correct": True}, {"judge"}, True),
    "/api/locale": ("GET", "/api/locale", None, EVERYONE, False),  # the show's words: public
    "/overlays/version.json": ("GET", "/overlays/version.json", None, EVERYONE, False),
    "/vendor/plotly.min.js": ("GET", "/vendor/plotly.min.js", None, EVERYONE, False),
    "/figures/radar": ("GET", "/figures/radar?channel=program", None, {"director", "graphics"}, False),
    "/figures/attention": ("GET", "/figures/attention?key=nothing&at=0", None, {"director", "graphics"}, True),
    "/overlays": ("GET", "/overlays/program.html", None, EVERYONE, False),  # files: public, the feeds are not
    "/static": ("GET", "/static/director.css", None, EVERYONE, False),
}
SOCKETS = {"director": {"director"}, "program": {"director", "graphics"}, "preview": {"director", "graphics"}, "audience": EVERYONE}


def _allowed(response: httpx.Response) -> bool:
    # 401/403 are the refusals about roles; anything else means the role check let it through.
    return response.status_code not in (401, 403)


def test_the_table_names_every_route_and_channel_the_app_has(live):
    routes = {route.path for route in create_app(live.studio, manage_studio=False).app.routes}
    assert routes == set(HTTP), f"not in the table: {routes - set(HTTP)}; gone from the app: {set(HTTP) - routes}"
    assert set(SOCKETS) == set(CHANNELS)


def _check_every_route(base: str, tokens: dict, follower: bool) -> dict:
    table = {}
    for route, (method, path, body, allowed, controller_only) in HTTP.items():
        for role in ROLES:
            headers = {"Authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
            response = httpx.request(method, f"{base}{path}", json=body, headers=headers, timeout=10)
            assert response.status_code < 500, (route, role, response.status_code, response.text[:300])
            table[(route, role)] = _allowed(response)
            assert table[(route, role)] == (role in allowed), (route, role, response.status_code, response.text)
            if not table[(route, role)]:
                assert response.json()["error"], (route, role)  # says why
            elif follower and controller_only:  # a follower sends it to the controller, by name
                assert response.status_code == 409, (route, role, response.status_code, response.text)
                assert response.json()["error"].endswith(f"controller process at {response.json()['controller']}")
    return table


def test_every_route_admits_only_its_roles(live):
    table = _check_every_route(live.base, _tokens(live), follower=False)
    assert table[("/api/command", "judge")] is False and table[("/api/command", "graphics")] is False  # nobody but the director acts


def test_a_follower_admits_the_same_roles_and_sends_the_controllers_work_to_it(live, monkeypatch):
    monkeypatch.setenv("REDIS_URL", live.studio.redis_server.url)
    live.call(lambda: live.studio.announce(live.base))
    images = live.studio.data_dir / "images"
    before = sorted(images.glob("*")) if images.exists() else []
    with LiveStudio(Studio(live.studio.script, live.studio.data_dir, follower=True)) as follower:
        tokens = _tokens(live)
        _check_every_route(follower.base, tokens, follower=True)
        director = {"Authorization": f"Bearer {tokens['director']}"}
        refused = httpx.post(f"{follower.base}/api/command", json={"command": "next"}, headers=director)
        assert refused.json() == {
            "error": f"this studio process is a follower (feeds and votes only): send this to the show's controller process at {live.base}",
            "controller": live.base,
        }
        for channel, allowed in SOCKETS.items():
            for role in ROLES:
                assert _socket_opens(follower, channel, tokens[role]) == (role in allowed), (channel, role)
    assert (sorted(images.glob("*")) if images.exists() else []) == before  # nothing written by the follower


def _socket_opens(live, channel: str, token: str | None, origin: str | None = None) -> bool:
    query = f"?since=0&token={token}" if token else "?since=0"
    headers = {"Origin": origin} if origin else None
    try:
        with connect(f"{live.ws_base}/ws/{channel}{query}", additional_headers=headers, open_timeout=10) as ws:
            ws.recv(timeout=5)  # the replay of the log: the server let us in
            return True
    except InvalidStatus as exc:  # refused before the handshake completed
        assert exc.response.status_code == 403, exc
        return False


def test_every_socket_admits_only_its_roles(live):
    tokens = _tokens(live)
    for channel, allowed in SOCKETS.items():
        for role in ROLES:
            assert _socket_opens(live, channel, tokens[role]) == (role in allowed), (channel, role)


def test_graphics_and_viewers_cannot_command_over_their_sockets(live):
    before = live.state()["last_seq"]
    with connect(f"{live.ws_base}/ws/program?since=0&token={live.graphics_token}") as ws:
        ws.send('{"command": "abort", "command_id": "from-graphics"}')
    with connect(f"{live.ws_base}/ws/audience?since=0") as ws:
        ws.send('{"command": "abort", "command_id": "from-phone"}')
    time.sleep(0.5)
    state = live.state()
    assert state["show"]["status"] == "idle" and state["last_seq"] == before


def test_browser_origins_are_checked(live):
    token = live.graphics_token
    assert _socket_opens(live, "program", token, origin=live.base)  # the studio's own pages
    assert not _socket_opens(live, "program", token, origin="http://evil.example")
    assert not _socket_opens(live, "audience", None, origin="http://evil.example")


def test_a_rotated_token_stops_working_at_once_without_a_restart(live):
    old = live.graphics_token
    with connect(f"{live.ws_base}/ws/program?since=0&token={old}") as held:
        rotated = httpx.post(
            f"{live.base}/api/tokens/rotate", json={"role": "graphics"}, headers={"Authorization": f"Bearer {live.director_token}"}
        )
        assert rotated.status_code == 200 and rotated.json()["token"] != old
        new = rotated.json()["token"]
        deadline = time.monotonic() + 10
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() < deadline:
                _drain(held)
        assert closed.value.rcvd.code == 4401 and "rotated" in closed.value.rcvd.reason
    assert httpx.get(f"{live.base}/figures/radar", params={"token": old}).status_code == 403
    assert httpx.get(f"{live.base}/figures/radar", params={"token": new}).status_code == 200

    phone = {"Authorization": f"Bearer {_tokens(live)['viewer']}"}
    assert httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "a"}, headers=phone).status_code == 200
    data_dir = live.studio.data_dir
    result = subprocess.run(
        [*GAVEL, "tokens", "rotate", "devices", "--data-dir", str(data_dir)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    time.sleep(1.2)  # the studio re-reads secrets.json at most once a second
    refused = httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "b"}, headers=phone)
    assert refused.status_code == 403 and "not one this studio issued" in refused.json()["error"]
    bad = subprocess.run(
        [*GAVEL, "tokens", "rotate", "janitor", "--data-dir", str(data_dir)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "role: one of director, graphics, devices, judge:li" in bad.stderr


def _drain(ws) -> None:
    try:
        ws.recv(timeout=1)
    except TimeoutError:
        pass
