"""Access tokens. Secrets come from the environment or a file in the data dir, never the repo.

``<data dir>/secrets.json`` (mode 0600) holds what was generated: the director's token (unless
``GAVEL_DIRECTOR_TOKEN`` is set), one token per judge the script names, and the key that signs
viewers' device tokens. Missing entries are generated once and kept; ``gavel serve`` prints where.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

from starlette.requests import HTTPConnection


class Tokens:
    def __init__(self, director: str, signing: str = "", judges: dict[str, str] | None = None, path: Path | None = None):
        self.director = director
        self.signing = signing or secrets.token_urlsafe(32)
        self.judges = dict(judges or {})  # judge id -> token
        self.path = path  # where generated secrets live, for humans to find

    @classmethod
    def load(cls, data_dir: Path, judge_ids: list[str] = ()) -> "Tokens":
        path = data_dir / "secrets.json"
        stored = json.loads(path.read_text()) if path.exists() else {}
        wanted = {
            "director": stored.get("director") or secrets.token_urlsafe(24),
            "signing": stored.get("signing") or secrets.token_urlsafe(32),
            "judges": {j: stored.get("judges", {}).get(j) or secrets.token_urlsafe(24) for j in judge_ids},
        }
        wanted["judges"] = {**stored.get("judges", {}), **wanted["judges"]}
        if wanted != stored:
            data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(wanted, f, indent=1)
            os.replace(tmp, path)
        director = os.environ.get("GAVEL_DIRECTOR_TOKEN") or wanted["director"]
        judges = {j: wanted["judges"][j] for j in judge_ids}
        return cls(director, wanted["signing"], judges, path)

    def is_director(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.director.encode())

    def judge_for(self, presented: str | None) -> str | None:
        """The judge whose token this is, or None."""
        if not presented:
            return None
        for judge, token in self.judges.items():
            if hmac.compare_digest(presented.encode(), token.encode()):
                return judge
        return None


def presented_token(conn: HTTPConnection) -> str | None:
    """``Authorization: Bearer T`` for HTTP; ``?token=T`` where headers cannot be set (WebSocket, OBS)."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return conn.query_params.get("token")
