"""The judges' HTTP surface. A judge is whoever holds that judge's token; nothing in a request
body can name someone else. Refusals are 4xx with the reason; nothing is recorded on a refusal.

A judge may also decide an uncertain verdict (``POST /api/judge/decide``): it runs the director's
``decide`` command as ``judge:<id>`` (logged and idempotent by command_id like every command;
studio/show/decisions.py), so the panel sees who decided.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from studio.show.judging import SCORE_RANGE, JudgeError

from .auth import presented_token
from .follower import controller_only

if TYPE_CHECKING:
    from .runtime import Studio

MAX_SCORE_BODY = 4096


async def _judge(request: Request) -> tuple[str | None, JSONResponse | None]:
    studio: Studio = request.app.state.studio
    token = presented_token(request)
    if not token:
        return None, JSONResponse({"error": "judge token required (Authorization: Bearer <token>)"}, 401)
    judge = studio.tokens.judge_for(token)
    if judge is None:
        return None, JSONResponse({"error": "this token is not a judge's"}, 403)
    if denied := await controller_only(studio):  # the judges' desk is the controller's: it checks answers against its state
        return None, denied
    return judge, None


async def me(request: Request) -> JSONResponse:
    judge, denied = await _judge(request)
    if denied:
        return denied
    desk = request.app.state.studio.controller.judges
    return JSONResponse({"judge": judge, "name": desk.names.get(judge, judge), "criteria": desk.criteria, "scale": list(SCORE_RANGE)})


async def targets(request: Request) -> JSONResponse:
    judge, denied = await _judge(request)
    if denied:
        return denied
    return JSONResponse({"targets": request.app.state.studio.controller.judges.targets(judge)})


async def score(request: Request) -> JSONResponse:
    judge, denied = await _judge(request)
    if denied:
        return denied
    raw = await request.body()
    if len(raw) > MAX_SCORE_BODY:
        return JSONResponse({"error": f"body over {MAX_SCORE_BODY} bytes"}, 413)
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"error": "body: must be JSON {target, scores}"}, 400)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "body: must be a JSON object {target, scores}"}, 400)
    claimed = payload.get("judge")
    if claimed is not None and claimed != judge:
        return JSONResponse({"error": f"judge: this token belongs to {judge!r}; nobody scores for another judge"}, 403)
    target = payload.get("target")
    if not isinstance(target, str) or not 1 <= len(target) <= 300:
        return JSONResponse({"error": "target: the id of the answer to score"}, 400)
    try:
        data = await request.app.state.studio.controller.judges.score(judge, target, payload.get("scores"))
    except JudgeError as exc:
        return JSONResponse({"error": exc.message}, exc.status)
    return JSONResponse({"ok": True, "scored": data.model_dump()})


async def decide(request: Request) -> JSONResponse:
    """``{question_id, contestant, correct, command_id?}``: decide an uncertain verdict as this judge."""
    judge, denied = await _judge(request)
    if denied:
        return denied
    raw = await request.body()
    if len(raw) > MAX_SCORE_BODY:
        return JSONResponse({"error": f"body over {MAX_SCORE_BODY} bytes"}, 413)
    try:
        payload = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"error": "body: must be JSON {question_id, contestant, correct}"}, 400)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "body: must be a JSON object {question_id, contestant, correct}"}, 400)
    command_id = payload.get("command_id") or uuid.uuid4().hex
    if not isinstance(command_id, str) or not 1 <= len(command_id) <= 100:
        return JSONResponse({"error": "command_id: a string of 1 to 100 characters"}, 400)
    args = {k: payload.get(k) for k in ("question_id", "contestant", "correct")}
    result = await request.app.state.studio.controller.command("decide", f"judge-{judge}-{command_id}"[:100], f"judge:{judge}", args)
    if not result.ok:
        return JSONResponse({"error": result.reason}, 409)
    return JSONResponse({"ok": True, "reason": result.reason})
