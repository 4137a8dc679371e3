"""The ``gavel`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

import typer

from contestants.cli import app as contestants_app
from core.yaml_source import SourceError
from studio.server.logs import LogFormat, attach_studio, blank_secrets_of, setup_logging

log = logging.getLogger("gavel.cli")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_SCRIPT = REPO_ROOT / "show_scripts" / "demo.yaml"

app = typer.Typer(help="Gavel (一锤定音): run a live show where language models compete on stage.", no_args_is_help=True)
models_app = typer.Typer(help="Model files the engines serve.", no_args_is_help=True)
app.add_typer(models_app, name="models")
tokens_app = typer.Typer(help="Role tokens (director, graphics, judges, device-token key).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(contestants_app, name="contestants")


def absolute(path: Path) -> Path:
    """A data dir as an absolute path, decided once here at the command line: the embedded
    redis-server runs with its own working directory (``--dir``), so a relative path handed down
    would name a different folder for it."""
    return path.expanduser().resolve()


def _load_script_or_exit(path: Path):
    from studio.show.rundown import load_script

    try:
        return load_script(path)
    except SourceError as exc:
        typer.secho(f"{path}: the show script has problems:", fg="red", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None


@models_app.command("prepare")
def models_prepare(
    cache_dir: Optional[Path] = typer.Option(None, help="Where converted models live (default $GAVEL_CACHE or ~/.cache/gavel)."),
) -> None:
    """Convert the SmolLM2-135M-Instruct GGUF shipped on PyPI into a safetensors folder, and train
    the shipped episodes' contestants (LoRA adapters) from the repository's data with ms-swift
    (each once, then cached)."""
    from contestants.prepared_adapters import RECIPES, is_prepared, prepare_adapter
    from engine_pool.model_files import prepare_model

    path = prepare_model(cache_dir=cache_dir, progress=True)
    typer.echo(str(path))
    trained, started = [], time.monotonic()
    for name in sorted(RECIPES):
        if is_prepared(name, cache_dir=cache_dir):
            typer.echo(f"adapter {name}: cached", err=True)
            typer.echo(str(prepare_adapter(name, cache_dir=cache_dir)))
        else:
            typer.echo(f"adapter {name}: training with ms-swift ({RECIPES[name].kind}, {RECIPES[name].steps} steps)…", err=True)
            begun = time.monotonic()
            typer.echo(str(prepare_adapter(name, cache_dir=cache_dir)))
            typer.echo(f"adapter {name}: trained in {time.monotonic() - begun:.0f} s", err=True)
            trained.append(name)
    if trained:
        typer.echo(f"contestants' adapters: {len(trained)} trained in {time.monotonic() - started:.0f} s", err=True)


@app.command()
def grade(
    bank: Path = typer.Argument(..., help="Question bank (JSON or YAML)."),
    responses: Path = typer.Argument(..., help='JSON list of {"id", "text"}.'),
) -> None:
    """Grade a responses file against a bank; print one JSON verdict per line: correct (true,
    false, or null when the grader cannot tell and the director would decide), extracted, reason."""
    from stages.grade_file import grade_responses

    try:
        verdicts = grade_responses(bank, responses)
    except SourceError as exc:
        for problem in exc.problems:
            typer.secho(problem, fg="red", err=True)
        raise typer.Exit(2) from None
    for verdict in verdicts:
        typer.echo(json.dumps(verdict, ensure_ascii=False))


@app.command()
def check(script: Path = typer.Argument(..., help="Show script (YAML).")) -> None:
    """Validate a show script and every bank it names, without starting anything."""
    loaded = _load_script_or_exit(script)
    for warning in loaded.warnings:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)
    typer.echo(f"{script}: ok — {len(loaded.stages)} stages, {len(loaded.contestants)} contestants")


@tokens_app.command("rotate")
def tokens_rotate(
    role: str = typer.Argument(..., help="director, graphics, judge:<id> or devices (every phone re-registers)."),
    data_dir: Path = typer.Option(..., help="The show's data dir (holds secrets.json)."),
) -> None:
    """Replace one role's secret. A running studio picks it up within a second and closes the
    sockets that used the old one; no restart."""
    from studio.server.auth import TokenError, Tokens

    path = absolute(data_dir) / "secrets.json"
    if not path.exists():
        typer.secho(f"no {path}: start the show once, or check --data-dir", fg="red", err=True)
        raise typer.Exit(2)
    judges = list(json.loads(path.read_text()).get("judges", {}))
    try:
        token = Tokens(path, judges).rotate(role)
    except TokenError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(token or f"{role} rotated")


def _graphics_query(tokens, host: str) -> str:
    """The overlays' ``?token=``: spelled out only to a person at a terminal on this machine —
    printed into a log file or a service's journal, a secret is a leak."""
    if host in ("127.0.0.1", "localhost") and sys.stdout.isatty():
        return f"?token={tokens.graphics}"
    return "?token=<graphics token>"


def _address(host: str, port: int) -> str:
    """Where others reach this process: a wildcard bind is reached by the machine's name."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _print_urls(studio, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    where = f"in {studio.tokens.path}"
    graphics = _graphics_query(studio.tokens, host)
    typer.echo(
        "\n".join(
            [
                "",
                f"  Tokens (director, graphics, judges): {where}",
                f"  Program monitor (every graphic of program): {base}/overlays/output.html{graphics}",
                f"  On-air overlay (program): {base}/overlays/program.html{graphics}",
                f"  Preview overlay:          {base}/overlays/program.html{graphics}&channel=preview",
                f"  Director's panel:         {base}/director  (director token)",
                f"  Viewers' voting page:     {base}/vote",
                f"  Judges' page:             {base}/judge?token=<judge token>",
                f"  Control API:              POST {base}/api/command  (Authorization: Bearer <director token>)",
                "",
            ]
        )
    )


class StartupFailed(Exception):
    """The studio did not come up; the message says what failed, in one line."""


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if not text or isinstance(exc, (KeyError, AttributeError, TypeError)) else text


def _listen(host: str, port: int) -> socket.socket:
    """The studio's listening socket, bound before anything starts: a port in use is reported at
    once, in one line, instead of after Redis and the engines have come up."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise StartupFailed(f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}") from exc


async def _serve(studio, host: str, port: int, until_finished: bool) -> None:
    """Start the studio, then serve it. The studio is started here rather than in the app's
    lifespan so that a failed start is reported by the CLI in one line, not as uvicorn's traceback."""
    import uvicorn

    from studio.server.app import create_app, server_config

    listening = _listen(host, port)
    try:
        await studio.start()
    except Exception as exc:
        listening.close()
        await studio.stop()
        raise StartupFailed(one_line(exc)) from exc
    try:
        server = uvicorn.Server(server_config(create_app(studio, manage_studio=False), host, port))
        serving = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
                raise StartupFailed(f"the server on {host}:{port} stopped during start-up")
            await asyncio.sleep(0.05)
        await studio.announce(_address(host, port))
        _print_urls(studio, host, port)
        if until_finished:
            # Unattended, a show whose engine did not start would only air DNFs: stop at once.
            finished = asyncio.create_task(studio.controller.finished.wait())
            engines = asyncio.create_task(_engines_failed(studio.pool))
            done, _ = await asyncio.wait({serving, finished, engines}, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            engines.cancel()
            server.should_exit = True
            await serving
            if engines in done:
                raise EnginesFailed(engines.result())
        await serving
    finally:
        await studio.stop()


class EnginesFailed(Exception):
    """An engine of the show did not start; one line per engine."""


async def _engines_failed(pool) -> list[str]:
    """Returns (once the pool has tried them all) the engines that did not start, if any."""
    await pool.ready.wait()
    if not pool.start_errors:
        await asyncio.Event().wait()  # all started: nothing to report, ever
    return [f"engine {name} did not start: {' '.join(error.split())}" for name, error in sorted(pool.start_errors.items())]


def _run_studio(studio, host: str, port: int, until_finished: bool, verbose: bool) -> None:
    try:
        asyncio.run(_serve(studio, host, port, until_finished))
    except StartupFailed as exc:
        if verbose:
            traceback.print_exception(exc.__cause__ or exc)
        typer.secho(f"gavel: the studio did not start: {exc}", fg="red", err=True)
        raise typer.Exit(3) from None


@app.command()
def serve(
    script: Path = typer.Argument(..., help="Show script (YAML)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    data_dir: Optional[Path] = typer.Option(None, help="Event log, Redis and secrets (default data/<show id>)."),
    autopilot: bool = typer.Option(False, help="Run the rundown without a director."),
    follower: bool = typer.Option(
        False, help="Serve only feeds and votes of the show a controller process runs (same REDIS_URL, same data dir's secrets)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", help="text, or json: one object per line on stderr."),
) -> None:
    """Run the studio for a director to drive. Restarting it resumes the show from its event log."""
    from studio.server.runtime import Studio

    formatter = setup_logging(verbose, log_format)
    loaded = _load_script_or_exit(script)
    studio = Studio(loaded, absolute(data_dir or Path("data") / loaded.show.id), autopilot=autopilot, follower=follower)
    attach_studio(formatter, studio)
    _run_studio(studio, host, port, until_finished=False, verbose=verbose)


@app.command()
def demo(
    headless: bool = typer.Option(False, help="Exit when the show ends (no browser needed)."),
    summary: Optional[Path] = typer.Option(None, help="Write a JSON summary of the show here."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    data_dir: Optional[Path] = typer.Option(None, help="Default: a fresh folder under data/."),
    script: Path = typer.Option(DEMO_SCRIPT, help="The demo rundown."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", help="text, or json: one object per line on stderr."),
) -> None:
    """Run the demo show on the embedded defaults (Redis, SmolLM2 on vLLM CPU) with no director."""
    from results.summary import show_summary
    from studio.server.runtime import Studio

    formatter = setup_logging(verbose, log_format)
    loaded = _load_script_or_exit(script)
    data_dir = absolute(data_dir or Path("data") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    studio = Studio(loaded, data_dir, autopilot=True)
    attach_studio(formatter, studio)
    started = time.time()
    engine_failures: list[str] = []
    try:
        _run_studio(studio, host, port, until_finished=headless, verbose=verbose)
    except EnginesFailed as exc:
        engine_failures = exc.args[0]
    state = studio.controller.state
    result = show_summary(state, started_at=started, engine_errors=studio.pool.start_errors)
    if summary:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        typer.echo(f"summary written to {summary}")
    typer.echo(json.dumps(result["contestants"], indent=2, ensure_ascii=False))
    for line in engine_failures:
        typer.secho(f"gavel: {line}", fg="red", err=True)
    if engine_failures or state.status != "completed":
        if not engine_failures:
            typer.secho(f"the show did not complete (status: {state.status})", fg="red", err=True)
        raise typer.Exit(1)


def _read_show_or_exit(source: str, show: Optional[str]):
    from store.show_log import ShowNotFound, read_show

    try:
        return asyncio.run(read_show(source, show))
    except ShowNotFound as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


@app.command()
def export(
    source: str = typer.Argument(..., help="The show's data dir (e.g. data/<show id>), or its show id with REDIS_URL."),
    out: Optional[Path] = typer.Option(None, help="Folder for the files (default exports/<show id>)."),
    show: Optional[str] = typer.Option(None, help="Which show, where the log holds several."),
) -> None:
    """Write a show's results (answers and grades, judges' scores, votes, leaderboard, fairness
    records) as results.json and one CSV per table."""
    from results.export import show_results, write_results

    show_log = _read_show_or_exit(source, show)
    results = show_results([item.parse() for item in show_log.director])
    for path in write_results(results, out or Path("exports") / show_log.show_id):
        typer.echo(str(path))


@app.command()
def replay(
    source: str = typer.Argument(..., help="The finished show's data dir (e.g. data/<show id>), or its show id with REDIS_URL."),
    speed: float = typer.Option(1.0, help="2 plays twice as fast (countdowns too)."),
    show: Optional[str] = typer.Option(None, help="Which show, where the log holds several."),
    replay_id: Optional[str] = typer.Option(None, "--as", help="The replay's show id (default <show>-replay-<time>)."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    data_dir: Optional[Path] = typer.Option(None, help="The replay's own data dir (default data/<replay id>)."),
    lead_in: float = typer.Option(5.0, help="Seconds to wait before the first event, for the graphics to connect."),
    exit_when_done: bool = typer.Option(False, help="Stop serving after the last event (default: hold the last state)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", help="text, or json: one object per line on stderr."),
) -> None:
    """Play a finished show's event log again, at its pace, to the graphics (a fresh show id)."""
    from studio.server.replay import ReplayRoom

    formatter = setup_logging(verbose, log_format)
    if speed <= 0:
        typer.secho("--speed: must be greater than 0", fg="red", err=True)
        raise typer.Exit(2)
    show_log = _read_show_or_exit(source, show)
    if not show_log.director:
        typer.secho(f"show {show_log.show_id!r}: the log is empty, nothing to replay", fg="red", err=True)
        raise typer.Exit(2)
    replay_id = replay_id or f"{show_log.show_id}-replay-{time.strftime('%Y%m%d-%H%M%S')}"
    room = ReplayRoom(replay_id, absolute(data_dir or Path("data") / replay_id))
    blank_secrets_of(formatter, room.tokens)
    asyncio.run(_replay(show_log, room, host, port, speed, lead_in, exit_when_done))


async def _replay(show_log, room, host: str, port: int, speed: float, lead_in: float, exit_when_done: bool) -> None:
    import uvicorn

    from studio.server.app import server_config
    from studio.server.replay import Timeline, create_replay_app, first_ts, replay_channels

    server = uvicorn.Server(server_config(create_replay_app(room), host, port))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            raise RuntimeError("the server stopped during start-up")
        await asyncio.sleep(0.05)
    base = f"http://{host}:{port}"
    events = sum(len(items) for items in show_log.channels.values())
    typer.echo(
        f"\n  Replaying show {show_log.show_id!r} as {room.show_id!r} ({events} events on {len(show_log.channels)} channels, x{speed:g})"
        f"\n  On-air overlay (program): {base}/overlays/program.html{_graphics_query(room.tokens, host)}"
        f"\n  Tokens: in {room.tokens.path}\n"
    )
    try:
        await asyncio.sleep(lead_in)
        timeline = Timeline(first_ts(show_log.channels), time.time(), speed)
        await replay_channels(show_log.channels, room.event_log, timeline)
        typer.echo(f"  replay of {show_log.show_id!r} done")
    except BaseException:
        server.should_exit = True
        raise
    if exit_when_done:
        server.should_exit = True
    await serving


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
