"""Roles and their tokens. Secrets come from the environment or a file in the data dir, never
from the repository.

Roles: ``director`` (everything), ``graphics`` (read-only program/preview feeds and figures, for
the on-air pages and CasparCG/OBS), ``judge`` (one token per judge the script names: scoring only)
and ``viewer`` (a signed device token: voting only; see device_tokens.py). ``<data dir>/
secrets.json`` (mode 0600) holds what was generated — the director's and graphics tokens (unless
``GAVEL_DIRECTOR_TOKEN`` / ``GAVEL_GRAPHICS_TOKEN`` are set), the judges' and the key that signs
device tokens. ``rotate`` replaces one of them in the file; a running studio re-reads the file
when it changes (``gavel tokens rotate`` works without a restart), and sockets holding a rotated
token are closed.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from pathlib import Path

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

ENV = {"director": "GAVEL_DIRECTOR_TOKEN", "graphics": "GAVEL_GRAPHICS_TOKEN"}


class TokenError(ValueError):
    pass


class Tokens:
    def __init__(self, path: Path, judge_ids: list[str] = ()):
        self.path = path
        self.judge_ids = list(judge_ids)
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        self._load(create=True)

    @classmethod
    def load(cls, data_dir: Path, judge_ids: list[str] = ()) -> "Tokens":
        return cls(Path(data_dir) / "secrets.json", judge_ids)

    # -- the file ----------------------------------------------------------------------------

    def _load(self, create: bool = False) -> None:
        stored = json.loads(self.path.read_text()) if self.path.exists() else {}
        wanted = {
            "director": stored.get("director") or secrets.token_urlsafe(24),
            "graphics": stored.get("graphics") or secrets.token_urlsafe(24),
            "signing": stored.get("signing") or secrets.token_urlsafe(32),
            "judges": {**stored.get("judges", {})},
        }
        for judge in self.judge_ids:
            wanted["judges"].setdefault(judge, secrets.token_urlsafe(24))
        if wanted != stored and create:
            self._write(wanted)
        self._secrets = wanted
        self.director = os.environ.get(ENV["director"]) or wanted["director"]
        self.graphics = os.environ.get(ENV["graphics"]) or wanted["graphics"]
        self.signing = wanted["signing"]
        self.judges = {j: wanted["judges"][j] for j in self.judge_ids}
        self._stamp = self._file_stamp()

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
            return st.st_mtime, st.st_size
        except FileNotFoundError:
            return None

    def refresh(self) -> None:
        """Pick up a rotation made by another process (at most once a second)."""
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        self._checked = now
        if self._file_stamp() != self._stamp:
            self._load()

    def rotate(self, role: str) -> str:
        """New secret for ``director``, ``graphics``, ``judge:<id>`` or ``devices`` (the device-token
        key: every phone gets a new device token). Returns the new token ("" for devices)."""
        data = json.loads(json.dumps(self._secrets))
        fresh = secrets.token_urlsafe(24)
        if role in ENV:
            if os.environ.get(ENV[role]):
                raise TokenError(f"role: the {role} token comes from ${ENV[role]}; change it there")
            data[role] = fresh
        elif role.startswith("judge:") and role[6:] in self.judge_ids:
            data["judges"][role[6:]] = fresh
        elif role == "devices":
            data["signing"], fresh = secrets.token_urlsafe(32), ""
        else:
            judges = ", ".join(f"judge:{j}" for j in self.judge_ids)
            raise TokenError(f"role: one of director, graphics, devices{', ' + judges if judges else ''} (got {role!r})")
        self._write(data)
        self._load()
        return fresh

    def current_signing(self) -> str:
        """The device-token key, as of the file now (rotations from other processes count)."""
        self.refresh()
        return self.signing

    # -- checks --------------------------------------------------------------------------------

    def role_of(self, presented: str | None) -> str | None:
        """``director``, ``graphics`` or ``judge:<id>`` for a valid token, else None."""
        if not presented:
            return None
        self.refresh()
        given = presented.encode()
        if hmac.compare_digest(given, self.director.encode()):
            return "director"
        if hmac.compare_digest(given, self.graphics.encode()):
            return "graphics"
        for judge, token in self.judges.items():
            if hmac.compare_digest(given, token.encode()):
                return f"judge:{judge}"
        return None

    def judge_for(self, presented: str | None) -> str | None:
        role = self.role_of(presented)
        return role[6:] if role and role.startswith("judge:") else None


TOKEN_PROTOCOL = "gavel.token."  # a browser's WebSocket offers ["gavel", "gavel.token.<token>"]


def presented_token(conn: HTTPConnection) -> str | None:
    """``Authorization: Bearer T`` for HTTP; for a browser's WebSocket (which cannot set headers)
    the offered subprotocol ``gavel.token.T``; else ``?token=T`` (OBS, CasparCG, scripts)."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    for protocol in conn.scope.get("subprotocols") or ():
        if protocol.startswith(TOKEN_PROTOCOL):
            return protocol[len(TOKEN_PROTOCOL) :]
    return conn.query_params.get("token")


def require_role(request: HTTPConnection, tokens: Tokens, roles: tuple[str, ...]) -> JSONResponse | None:
    """None if the request carries a token of one of ``roles``; else the refusal to send (401 with
    no token, 403 with another role's)."""
    token = presented_token(request)
    names = " or ".join(roles)
    if not token:
        return JSONResponse({"error": f"{names} token required (Authorization: Bearer <token>)"}, 401)
    if tokens.role_of(token) not in roles:
        return JSONResponse({"error": f"this token is not the {names} token"}, 403)
    return None
