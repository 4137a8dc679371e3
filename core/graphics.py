"""The on-air graphics the studio knows, and the version of the overlay files it serves.

A graphic is a page under ``overlays/`` with an OGraf manifest beside it. The director cues a
graphic (with its data) on preview and takes preview to program; ``graphics.taken`` carries
program's whole graphics state so a page that joins late needs no history. The version is a hash
of the overlay files: a page that connects with an older one is flagged stale on the panel.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

OVERLAYS_DIR = Path(__file__).resolve().parent.parent / "overlays"

# name -> (page, what it shows). The pages' manifests list their data fields.
GRAPHICS: dict[str, tuple[str, str]] = {
    "duel": ("program.html", "token duel: answers streaming side by side, with the scoreboard"),
    "question": ("question.html", "question card with the server-clock countdown"),
    "radar": ("radar.html", "latency and accuracy radar per contestant (plotly)"),
    "leaderboard": ("leaderboard.html", "leaderboard with animated rank changes"),
    "lower_third": ("lower-third.html", "contestant name, team, base model, adapter"),
    "title_card": ("title-card.html", "stage title card"),
    "vote_bars": ("vote-bars.html", "live vote tallies"),
    "image_poem": ("image-poem.html", "the picture, how the models saw it, the poems streaming and their form checks"),
    "subtitles": ("subtitles.html", "live subtitles: source line, each contestant's translation and lag, the final lag table"),
    "path": ("generation-path.html", "generation path: the answer's tokens, close calls, the alternatives at a token (logprobs)"),
    "attention": ("attention.html", "attention heatmap of an answer: which words it looked at (plotly)"),
    "training": ("training.html", "training board: each contestant's ms-swift job (step, loss, ETA, end) and qualification score"),
    "end_card": ("end-card.html", "closing card: the show's title, tonight's winner and team, the final standings"),
}

# What program and preview show when a show opens, before any director action: the token duel,
# so an unattended (autopilot) show is watchable.
DEFAULT_ON_AIR = {"duel"}


def overlay_version(directory: Path = OVERLAYS_DIR) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix in {".html", ".js", ".css", ".mjs", ".json"}:
            digest.update(path.relative_to(directory).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
