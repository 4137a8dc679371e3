"""The show controller: an asyncio state machine over the rundown, driven by the director.

Its state is ``ShowState`` folded over the director channel of the event log and nothing else, so
after the studio is killed it rebuilds itself from the log and carries on at the same stage.

Commands — the rundown (start, next, pause, resume, skip, abort), graphics (cue, take, panic,
refresh), polls (poll_open, poll_close, poll_reveal), safety (dump, approve, reject), grading
(decide an uncertain verdict: studio/show/decisions.py) and the debate's cut — are serialised by one
lock, logged as events with who gave them and their args, and idempotent twice over: a command
repeated with the same ``command_id`` returns the first result without acting again (the id is
bound to the command and its args: studio/show/command_ids.py), and a command
whose effect already holds (start while running, pause while paused) changes nothing. A command
that makes no sense now (next while a stage is still running) is refused with the reason, and also
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Callable

from core import events as ev
from core.locale import table
from core.script import ShowScript
from core.state import ShowState
from engine_pool.pool import EnginePool
from stages.base import StageContext
from stages.registry import make_stage
from store.event_log import EventLog
from store.polls import PollStore

from .autopilot import Autopilot
from .command_ids import CommandIds, CommandResult
from .decisions import DecisionDesk
from .delay_line import UNDELAYED, DelayLine
from .explain_desk import ExplainDesk
from .graphics_desk import GraphicsDesk
from .judging import JudgeDesk
from .poll_host import PollError, PollHost, parse_poll_request
from .rundown import script_classifier, script_rules
from .safety_desk import SafetyDesk
from .standings import Standings

log = logging.getLogger("gavel.controller")

SHOW_COMMANDS = ("start", "next", "pause", "resume", "skip", "abort")
GRAPHICS_COMMANDS = ("cue", "take", "panic", "refresh")
POLL_COMMANDS = ("poll_open", "poll_close", "poll_reveal")
SAFETY_COMMANDS = ("dump", "approve", "reject")
STAGE_COMMANDS = ("cut", "subtitle_line", "explain")
GRADING_COMMANDS = ("decide",)
COMMANDS = SHOW_COMMANDS + GRAPHICS_COMMANDS + POLL_COMMANDS + SAFETY_COMMANDS + STAGE_COMMANDS + GRADING_COMMANDS


class ShowController:
    def __init__(
        self,
        script: ShowScript,
        event_log: EventLog,
        pool: EnginePool,
        autopilot: bool = False,
        clock: Callable[[], float] = time.time,
        images_dir: Path | None = None,
        attention_dir: Path | None = None,
    ):
        self.script = script
        self.images_dir = images_dir  # pictures the director uploaded (image-to-poem)
        self.log = event_log
        self.command_ids = CommandIds(event_log.client, event_log.show_id)
        self.pool = pool
        self.clock = clock
        self.state = ShowState()
        self.finished = asyncio.Event()
        self._lock = asyncio.Lock()
        self._not_paused = asyncio.Event()
        self._stage_task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self.polls = PollHost(
            PollStore(event_log.client, event_log.show_id),
            self.state,
            self.publish,
            script.audience.tally_hz,
            clock,
            votes_per_ip=script.audience.votes_per_ip_per_poll,
        )
        self.judges = JudgeDesk(event_log.client, script, self.state, self.publish)
        self._interrupt = asyncio.Event()  # "cut": ends the turn on air now (debates)
        self.graphics = GraphicsDesk(self.state, self.publish)
        self.standings = Standings(script, self.state, self.publish)
        self.safety = SafetyDesk(script_rules(script), self.publish, script.safety.hold_timeout_s, script_classifier(script))
        self.delay = DelayLine(event_log, script.safety.delay_s, on_dropped=self._program_dropped) if script.safety.delay_s > 0 else None
        self.explain = ExplainDesk(attention_dir, pool, self.publish, script.explain.aggregate, script.explain.max_answer_tokens)
        self.pilot = Autopilot(script, self.state, self.command) if autopilot else None
        self.decisions = DecisionDesk(
            self.state, self.publish, self.command, self._spawn, clock, autopilot, script.grading.uncertain_timeout_s
        )
        self._command_by = ""  # who gave the command being run (under the lock): decisions record it

    # -- the event log ------------------------------------------------------------------------

    async def publish(self, event: ev.Event, channels=ev.ON_AIR) -> None:
        self.decisions.stamp(event)  # under autopilot an uncertain verdict says when it will be decided
        if self.delay is not None and "program" in channels and not isinstance(event, UNDELAYED):
            self.delay.put(event)  # air gets it delay_s later (and not at all if dumped by then)
            channels = [c for c in channels if c != "program"]
        seqs = await self.log.append(event, channels)
        if "director" in seqs:  # the controller's state is the director channel's
            event.seq = seqs["director"]
            self.state.apply(event)
            self._after_publish(event)
            if self.pilot is not None:
                self.pilot.observe(event)

    async def _program_dropped(self, dropped: ev.ProgramDroppedData) -> None:
        await self.publish(ev.ProgramDropped(data=dropped), channels=ev.DIRECTOR_ONLY)

    def _after_publish(self, event: ev.Event) -> None:
        self.decisions.seen(event)
        self.standings.note(event)

    async def open(self) -> None:
        """Rebuild from the log (or open a new show) and resume whatever was running."""
        for item in await self.log.read("director"):
            event = item.parse()
            self.state.apply(event)
            self.standings.note(event, live=False)
        self._spawn(self.standings.run())
        if self.delay is not None:
            self._spawn(self.delay.run())
        if self.pilot is not None:
            self._spawn(self.pilot.run())
        self._spawn(self.polls.run_tallies())
        self.decisions.rearm()
        for poll_id, closes_ts in self.polls.open_with_deadline():
            self._spawn(self._close_poll_at(poll_id, closes_ts))
        if not self.state.show_id:
            await self.publish(
                ev.ShowOpened(
                    data=ev.ShowOpenedData(
                        show_id=self.script.show.id,
                        title=self.script.show.title,
                        locale=self.script.show.locale,
                        messages=table(self.script.show.locale),
                        stages=[ev.StageInfo(index=i, kind=s.kind, title=s.title) for i, s in enumerate(self.script.stages)],
                        contestants=[
                            ev.ContestantInfo(
                                id=c.id, name=c.name, team=c.team, engine=c.engine, model=self._model_of(c), adapter=c.adapter
                            )
                            for c in self.script.contestants
                        ],
                    )
                )
            )
            await self.graphics.open_show()
        elif len(self.state.stages) != len(self.script.stages):
            raise RuntimeError(
                f"the event log holds show {self.state.show_id!r} with {len(self.state.stages)} stages but the script has "
                f"{len(self.script.stages)}: use a fresh data dir for a changed rundown"
            )
        for client in list(self.state.clients.values()):  # pages of the previous process reconnect anew
            await self.graphics.client(ev.GraphicsClientData(**{**client, "connected": False}))
        if self.state.status != "paused":
            self._not_paused.set()
        if self.state.ended:
            self.finished.set()
            return
        stage = self.state.current_stage
        if stage is not None and self.state.stage_status(stage) == "running":
            log.warning("resuming stage %d (%s) after a restart", stage, self.state.stages[stage]["title"])
            self._stage_task = self._spawn(self._run_stage(stage))
        elif self.pilot is not None and self.state.status == "idle":
            self.pilot.open_show()
        elif self.pilot is not None and self.state.status == "running" and stage is not None:
            self.pilot.after_stage(stage)  # stopped between stages: carry on from that stage's end

    def _model_of(self, contestant) -> str:
        return getattr(self.script.engines[contestant.engine], "model", "")

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        await self.explain.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- director commands ----------------------------------------------------------------------

    async def command(self, name: str, command_id: str, by: str, args: dict | None = None) -> CommandResult:
        if name not in COMMANDS:
            raise ValueError(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
        args = args or {}
        async with self._lock:
            earlier = await self.command_ids.recall(command_id, name, args)
            if isinstance(earlier, CommandResult):  # a retry: the first result, not a second act
                return earlier
            self._command_by = by
            if earlier is not None:  # the id was used for another command: refused, logged
                ok, changed, reason = False, False, earlier
            else:
                handler = getattr(self.graphics, name) if name in GRAPHICS_COMMANDS else getattr(self, f"_do_{name}")
                ok, changed, reason = await handler(args)
            result = CommandResult(name, command_id, ok, changed, reason, self.state.status, self.state.current_stage)
            await self.publish(
                ev.DirectorCommand(
                    data=ev.DirectorCommandData(command=name, command_id=command_id, by=by, accepted=ok, reason=reason, args=args)
                ),
                channels=ev.DIRECTOR_ONLY,
            )
            if earlier is None:
                await self.command_ids.remember(result, args)
            log.info("%s by %s: %s", name, by, reason or ("done" if changed else "no change"))
            return result

    async def refuse(self, what: str, by: str, reason: str) -> None:
        """Log a command that could not even be read (malformed), so the panel can show why."""
        async with self._lock:
            await self.publish(
                ev.DirectorCommand(data=ev.DirectorCommandData(command=what, command_id="-", by=by, accepted=False, reason=reason)),
                channels=ev.DIRECTOR_ONLY,
            )

    async def _do_start(self, args: dict) -> tuple[bool, bool, str]:
        if self.state.ended:
            return False, False, f"the show has {self.state.status}"
        if self.state.status != "idle":
            return True, False, "the show is already started"
        await self.publish(ev.ShowStatus(data=ev.ShowStatusData(status="running")))
        self._not_paused.set()
        await self._start_stage(0)
        return True, True, ""

    async def _do_next(self, args: dict) -> tuple[bool, bool, str]:
        if self.state.ended:
            return False, False, f"the show has {self.state.status}"
        if self.state.status == "idle":
            return False, False, "the show has not started: use start"
        current = self.state.current_stage
        if current is not None and self.state.stage_status(current) == "running":
            return False, False, f"stage {current + 1} is still running: skip it to move on"
        following = 0 if current is None else current + 1
        if following >= len(self.state.stages):
            await self._end_show("completed")
            return True, True, "that was the last stage"
        await self._start_stage(following)
        return True, True, ""

    async def _do_pause(self, args: dict) -> tuple[bool, bool, str]:
        if self.state.status == "paused":
            return True, False, "already paused"
        if self.state.status != "running":
            return False, False, f"cannot pause a show that is {self.state.status}"
        self._not_paused.clear()
        await self.publish(ev.ShowStatus(data=ev.ShowStatusData(status="paused")))
        return True, True, "holding before the next question"

    async def _do_resume(self, args: dict) -> tuple[bool, bool, str]:
        if self.state.status == "running":
            return True, False, "not paused"
        if self.state.status != "paused":
            return False, False, f"cannot resume a show that is {self.state.status}"
        await self.publish(ev.ShowStatus(data=ev.ShowStatusData(status="running")))
        self._not_paused.set()
        return True, True, ""

    async def _do_skip(self, args: dict) -> tuple[bool, bool, str]:
        current = self.state.current_stage
        if current is None or self.state.stage_status(current) != "running":
            return True, False, "no stage is running"
        await self._cancel_stage()
        await self.publish(ev.StageEnded(data=ev.StageEndedData(index=current, status="skipped")))
        self._after_stage(current)
        return True, True, ""

    async def _do_abort(self, args: dict) -> tuple[bool, bool, str]:
        if self.state.ended:
            return True, False, f"the show has already {self.state.status}"
        current = self.state.current_stage
        if current is not None and self.state.stage_status(current) == "running":
            await self._cancel_stage()
            await self.publish(ev.StageEnded(data=ev.StageEndedData(index=current, status="aborted")))
        await self._end_show("aborted")
        return True, True, ""

    # -- polls ----------------------------------------------------------------------------------

    async def _do_poll_open(self, args: dict) -> tuple[bool, bool, str]:
        try:
            request = parse_poll_request(args, default_id=self._free_poll_id())
        except PollError as exc:
            return False, False, str(exc)
        return await self.open_poll(**request)

    def _free_poll_id(self) -> str:
        n = len(self.state.polls) + 1
        while f"p{n}" in self.state.polls:  # the director may have named one "p3" already
            n += 1
        return f"p{n}"

    async def open_poll(self, duration_s: float | None = None, **request) -> tuple[bool, bool, str]:
        """Open a poll (from a command or a stage); arm its timer when it has a duration."""
        try:
            changed, reason = await self.polls.open(duration_s=duration_s, **request)
        except PollError as exc:
            return False, False, str(exc)
        if changed and duration_s:
            self._spawn(self._close_poll_at(request["poll_id"], self.state.polls[request["poll_id"]]["closes_ts"]))
        return True, changed, reason

    async def _do_poll_close(self, args: dict) -> tuple[bool, bool, str]:
        winner = args.get("winner")
        if winner is not None and not isinstance(winner, str):
            return False, False, "winner: must be one of the poll's choice ids"
        try:
            changed, reason = await self.polls.close(str(args.get("poll", "")), winner)
        except PollError as exc:
            return False, False, str(exc)
        return True, changed, reason

    async def _do_poll_reveal(self, args: dict) -> tuple[bool, bool, str]:
        try:
            changed, reason = await self.polls.reveal(str(args.get("poll", "")))
        except PollError as exc:
            return False, False, str(exc)
        return True, changed, reason

    async def _close_poll_at(self, poll_id: str, closes_ts: float) -> None:
        await asyncio.sleep(max(0.0, closes_ts - self.clock()))
        await self.command("poll_close", f"timer-close-{poll_id}", "timer", {"poll": poll_id})

    # -- safety: dump from the delay, approve/reject a hold ---------------------------------------

    async def _do_dump(self, args: dict) -> tuple[bool, bool, str]:
        contestant = args.get("contestant")
        known = [c.id for c in self.script.contestants]
        if contestant is not None and contestant not in known:
            return False, False, f"contestant: one of {', '.join(known)} (or leave it out for all)"
        answers = {(qid, c) for qid, c in self.safety.guards if contestant in (None, c)}
        if self.state.question:
            qid = self.state.question["question_id"]
            answers |= {(qid, c) for c in self.state.answers if contestant in (None, c)}
        if self.delay is not None:
            answers |= {key for key in self.delay.answers_waiting() if contestant in (None, key[1])}
            dumped = self.delay.dump(answers)
        else:  # no delay: nothing is waiting; air still drops the answer's text from now on
            dumped = [
                ev.AnswerDumped(data=ev.AnswerDumpedData(question_id=q, contestant=c, reason="dumped by the director"))
                for q, c in sorted(answers)
            ]
        for event in dumped:
            self.explain.forget(event.data.question_id, event.data.contestant, "the director dumped this answer")
            await self.publish(event)
        if not answers:
            return True, False, "no answer to dump"
        return True, bool(dumped), "" if dumped else "already dumped"

    async def _do_approve(self, args: dict) -> tuple[bool, bool, str]:
        return await self._resolve_hold(args, approve=True)

    async def _do_reject(self, args: dict) -> tuple[bool, bool, str]:
        return await self._resolve_hold(args, approve=False)

    async def _resolve_hold(self, args: dict, approve: bool) -> tuple[bool, bool, str]:
        question_id, contestant = args.get("question_id"), args.get("contestant")
        if not isinstance(question_id, str) or not isinstance(contestant, str):
            return False, False, "question_id and contestant: which held answer"
        return await self.safety.resolve(question_id, contestant, approve)

    async def _do_explain(self, args: dict) -> tuple[bool, bool, str]:
        """An attention heatmap for one answer (default: the question on screen now)."""
        contestant = args.get("contestant")
        known = [c.id for c in self.script.contestants]
        if contestant not in known:
            return False, False, f"contestant: one of {', '.join(known)}"
        question_id = args.get("question_id") or (self.state.question or {}).get("question_id")
        if not isinstance(question_id, str):
            return False, False, "question_id: which question's answer (no question is on screen)"
        aggregate = args.get("aggregate")
        if aggregate is not None and not isinstance(aggregate, str):
            return False, False, "aggregate: mean, max or layer:<n>"
        return await self.explain.request(question_id, contestant, aggregate)

    async def _do_decide(self, args: dict) -> tuple[bool, bool, str]:
        """Decide an uncertain verdict: ``{question_id, contestant, correct}`` (studio/show/decisions.py)."""
        return await self.decisions.decide(args, self._command_by)

    async def _do_cut(self, args: dict) -> tuple[bool, bool, str]:
        current = self.state.current_stage
        if current is None or self.state.stage_status(current) != "running":
            return False, False, "no stage is running"
        if self.state.stages[current]["kind"] != "debate":
            return False, False, "only a debate turn can be cut short (skip ends a stage)"
        self._interrupt.set()
        return True, True, "the turn ends at its next token"

    async def _do_subtitle_line(self, args: dict) -> tuple[bool, bool, str]:
        """A line the operator typed, for the subtitles stage on air (``{"text"}``, or ``{"end": true}``)."""
        from stages.subtitles import operator_feed

        current = self.state.current_stage
        if current is None or self.state.stage_status(current) != "running":
            return False, False, "no stage is running"
        feed = operator_feed(self.state, current)
        if feed is None:
            return False, False, "the stage on air takes no operator lines (subtitles with operator: true)"
        return await feed.submit(args.get("text"), end=bool(args.get("end")))

    # -- stages ---------------------------------------------------------------------------------

    async def _start_stage(self, index: int) -> None:
        spec = self.script.stages[index]
        await self.publish(ev.StageStarted(data=ev.StageStartedData(index=index, kind=spec.kind, title=spec.title)))
        self._stage_task = self._spawn(self._run_stage(index))

    async def _cancel_stage(self) -> None:
        task, self._stage_task = self._stage_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run_stage(self, index: int) -> None:
        spec = self.script.stages[index]
        await self.pool.ready.wait()  # engines may still be loading when the director starts
        ctx = StageContext(
            index=index,
            spec=spec,
            script=self.script,
            pool=self.pool,
            state=self.state,
            publish=self.publish,
            wait_if_paused=self._not_paused.wait,
            clock=self.clock,
            open_poll=self.open_poll,
            wait_poll_closed=self.polls.wait_closed,
            safety=self.safety,
            interrupt=self._interrupt,
            images_dir=self.images_dir,
            explain=self.explain,
        )
        outcome = "completed"
        try:
            await make_stage(spec.kind).run(ctx)
        except asyncio.CancelledError:
            raise  # skip/abort publish the stage's end themselves
        except Exception:
            log.exception("stage %d (%s) failed", index, spec.title)
            outcome = "aborted"
        async with self._lock:
            if self._stage_task is not asyncio.current_task():
                return  # skipped or aborted while we waited for the lock
            self._stage_task = None
            await self.publish(ev.StageEnded(data=ev.StageEndedData(index=index, status=outcome)))
            self._after_stage(index)

    def _after_stage(self, index: int) -> None:
        if self.pilot is not None:
            self.pilot.after_stage(index)  # its outro, then the next stage or the closing
        elif index == len(self.script.stages) - 1:
            self._spawn(self._end_show_locked("completed"))

    async def _end_show_locked(self, status: str) -> None:
        async with self._lock:
            if not self.state.ended:
                await self._end_show(status)

    async def _end_show(self, status: str) -> None:
        await self.publish(ev.ShowStatus(data=ev.ShowStatusData(status=status)))
        self.finished.set()
