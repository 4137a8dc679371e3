"""Access tokens. Secrets come from the environment or a file in the data dir, never the repo.

When ``GAVEL_DIRECTOR_TOKEN`` is unset, a random token is generated once and kept in
``<data dir>/secrets.json`` (mode 0600), and ``gavel serve`` prints where it is.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

from starlette.requests import HTTPConnection


class Tokens:
    def __init__(self, director: str, path: Path | None = None):
        self.director = director
        self.path = path  # where a generated secret lives, for humans to find

    @classmethod
    def load(cls, data_dir: Path) -> "Tokens":
        from_env = os.environ.get("GAVEL_DIRECTOR_TOKEN")
        if from_env:
            return cls(from_env)
        path = data_dir / "secrets.json"
        if path.exists():
            return cls(json.loads(path.read_text())["director"], path)
        data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"director": token}, f)
        return cls(token, path)

    def is_director(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.director.encode())


def presented_token(conn: HTTPConnection) -> str | None:
    """``Authorization: Bearer T`` for HTTP; ``?token=T`` where headers cannot be set (WebSocket, OBS)."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return conn.query_params.get("token")
