"""Unpacking a team's archive without trusting it.

An uploaded ``.zip`` / ``.tar(.gz|.bz2|.xz)`` is listed in full before one byte is written, and
refused whole if any member would escape the target folder (absolute paths, ``..``), is a link or
a device, or if the sizes break the caps (per file, in total, member count) — a zip bomb is caught
from its declared sizes, and again while writing, since declared sizes can lie.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .problems import IntakeError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_file_bytes: int = 512 << 20  # a 135M-parameter model's full-rank LoRA stays well under this
    max_total_bytes: int = 1 << 30
    max_members: int = 64


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    kind: str  # "file" | "dir" | what else it is, for the refusal


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _members(archive: Path) -> list[_Member]:
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            out = []
            for info in zf.infolist():
                mode = info.external_attr >> 16
                kind = "dir" if info.is_dir() else "symlink" if stat.S_ISLNK(mode) else "file"
                out.append(_Member(info.filename, info.file_size, kind))
            return out
    with tarfile.open(archive) as tf:
        out = []
        for info in tf.getmembers():
            kind = (
                "file"
                if info.isfile()
                else "dir"
                if info.isdir()
                else "symlink"
                if info.issym()
                else "hard link"
                if info.islnk()
                else "device or fifo"
            )
            out.append(_Member(info.name, info.size, kind))
        return out


def _unsafe_name(name: str) -> str | None:
    if not name or "\x00" in name or "\\" in name:
        return "odd characters in the name"
    path = PurePosixPath(name)
    if path.is_absolute():
        return "absolute path"
    if ".." in path.parts:
        return "path traversal (..)"
    return None


def check_archive(archive: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[_Member]:
    """Every member, or :class:`IntakeError` with every reason the archive is refused."""
    try:
        members = _members(archive)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise IntakeError([f"{archive.name}: not a readable archive ({error})"]) from None
    problems = []
    if len(members) > limits.max_members:
        problems.append(f"{archive.name}: {len(members)} members, over the cap of {limits.max_members}")
    total = 0
    for m in members:
        why = _unsafe_name(m.name)
        if why:
            problems.append(f"{archive.name}: member {m.name!r}: {why}")
        if m.kind not in ("file", "dir"):
            problems.append(f"{archive.name}: member {m.name!r} is a {m.kind}; only plain files and folders are accepted")
        if m.size > limits.max_file_bytes:
            problems.append(f"{archive.name}: member {m.name!r} is {m.size} bytes, over the per-file cap of {limits.max_file_bytes}")
        total += max(m.size, 0)
    if total > limits.max_total_bytes:
        problems.append(f"{archive.name}: {total} bytes unpacked, over the cap of {limits.max_total_bytes}")
    if problems:
        raise IntakeError(problems)
    return members


def _copy_capped(source, target: Path, name: str, budget: list[int], limits: ArchiveLimits) -> None:
    written = 0
    with open(target, "wb") as out:
        while block := source.read(CHUNK):
            written += len(block)
            budget[0] -= len(block)
            if written > limits.max_file_bytes or budget[0] < 0:
                raise IntakeError(
                    [
                        f"member {name!r} unpacks to more than its declared size allows (caps: "
                        f"{limits.max_file_bytes} per file, {limits.max_total_bytes} in total)"
                    ]
                )
            out.write(block)


def extract_archive(archive: Path, target: Path, limits: ArchiveLimits = ArchiveLimits()) -> Path:
    """Unpack a checked archive into ``target`` (created empty); returns the folder holding the
    files (the single top-level folder, if the archive has one)."""
    members = check_archive(archive, limits)
    target.mkdir(parents=True, exist_ok=False)
    budget = [limits.max_total_bytes]
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for m in members:
                    dest = target / m.name
                    if m.kind == "dir":
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(m.name) as source:
                        _copy_capped(source, dest, m.name, budget, limits)
        else:
            with tarfile.open(archive) as tf:
                for info in tf.getmembers():
                    dest = target / info.name
                    if info.isdir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    source = tf.extractfile(info)
                    assert source is not None  # a regular file: check_archive refused the rest
                    with source:
                        _copy_capped(source, dest, info.name, budget, limits)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    entries = [p for p in target.iterdir() if not p.name.startswith("__MACOSX")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target
