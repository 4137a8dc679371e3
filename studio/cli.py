"""The ``gavel`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from contestants.cli import app as contestants_app

from .yaml_source import SourceError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_SCRIPT = REPO_ROOT / "show_scripts" / "demo.yaml"

app = typer.Typer(help="Gavel (一锤定音): run a live show where language models compete on stage.", no_args_is_help=True)
models_app = typer.Typer(help="Model files the engines serve.", no_args_is_help=True)
app.add_typer(models_app, name="models")
tokens_app = typer.Typer(help="Role tokens (director, graphics, judges, device-token key).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(contestants_app, name="contestants")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_script_or_exit(path: Path):
    from .show_script import load_script

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
    the demo contestant's LoRA adapter from the repository's data with ms-swift (each once)."""
    from contestants.prepared_adapters import RECIPES, prepare_adapter
    from engine_pool.model_files import prepare_model

    path = prepare_model(cache_dir=cache_dir, progress=True)
    typer.echo(str(path))
    for name in sorted(RECIPES):
        typer.echo(f"adapter {name}: trained once with ms-swift, then cached", err=True)
        typer.echo(str(prepare_adapter(name, cache_dir=cache_dir)))


@app.command()
def grade(bank: Path = typer.Argument(..., help="Question bank (JSON or YAML)."),
          responses: Path = typer.Argument(..., help='JSON list of {"id", "text"}.')) -> None:
    """Grade a responses file against a bank; print one JSON verdict per line."""
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
    typer.echo(f"{script}: ok — {len(loaded.stages)} stages, {len(loaded.contestants)} contestants")


@tokens_app.command("rotate")
def tokens_rotate(
    role: str = typer.Argument(..., help="director, graphics, judge:<id> or devices (every phone re-registers)."),
    data_dir: Path = typer.Option(..., help="The show's data dir (holds secrets.json)."),
) -> None:
    """Replace one role's secret. A running studio picks it up within a second and closes the
    sockets that used the old one; no restart."""
    from .auth import Tokens, TokenError

    path = data_dir / "secrets.json"
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


def _print_urls(studio, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    where = f"in {studio.tokens.path}"
    graphics = f"?token={studio.tokens.graphics}" if host in ("127.0.0.1", "localhost") else "?token=<graphics token>"
    typer.echo(
        "\n".join(
            [
                "",
                f"  Tokens (director, graphics, judges): {where}",
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


async def _serve(studio, host: str, port: int, until_finished: bool) -> None:
    import uvicorn

    from .app import create_app, server_config

    server = uvicorn.Server(server_config(create_app(studio), host, port))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises whatever stopped it (e.g. port in use)
            raise RuntimeError("the server stopped during start-up")
        await asyncio.sleep(0.05)
    _print_urls(studio, host, port)
    if until_finished:
        finished = asyncio.create_task(studio.controller.finished.wait())
        await asyncio.wait({serving, finished}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
    await serving


@app.command()
def serve(
    script: Path = typer.Argument(..., help="Show script (YAML)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    data_dir: Optional[Path] = typer.Option(None, help="Event log, Redis and secrets (default data/<show id>)."),
    autopilot: bool = typer.Option(False, help="Run the rundown without a director."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the studio for a director to drive. Restarting it resumes the show from its event log."""
    from .runtime import Studio

    _setup_logging(verbose)
    loaded = _load_script_or_exit(script)
    studio = Studio(loaded, data_dir or Path("data") / loaded.show.id, autopilot=autopilot)
    asyncio.run(_serve(studio, host, port, until_finished=False))


@app.command()
def demo(
    headless: bool = typer.Option(False, help="Exit when the show ends (no browser needed)."),
    summary: Optional[Path] = typer.Option(None, help="Write a JSON summary of the show here."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    data_dir: Optional[Path] = typer.Option(None, help="Default: a fresh folder under data/."),
    script: Path = typer.Option(DEMO_SCRIPT, help="The demo rundown."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the demo show on the embedded defaults (Redis, SmolLM2 on vLLM CPU) with no director."""
    from .runtime import Studio
    from .summary import show_summary

    _setup_logging(verbose)
    loaded = _load_script_or_exit(script)
    data_dir = data_dir or Path("data") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    studio = Studio(loaded, data_dir, autopilot=True)
    started = time.time()
    asyncio.run(_serve(studio, host, port, until_finished=headless))
    state = studio.controller.state
    result = show_summary(state, started_at=started)
    if summary:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        typer.echo(f"summary written to {summary}")
    typer.echo(json.dumps(result["contestants"], indent=2, ensure_ascii=False))
    if state.status != "completed":
        typer.secho(f"the show did not complete (status: {state.status})", fg="red", err=True)
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
