"""Every file a command writes, as one set: checked before any work, staged, renamed together.

A command names all its output files up front (`check_targets`), so a refusal (an input or a
file held by Excel/LibreOffice in the way) comes before anything is solved or written: exit 2,
nothing changed. Files are then written under hidden names in their own folders (`OutputSet`)
and renamed onto their targets only when all of them are complete, with Ctrl-C held back for
the few microseconds the renames take: an interrupted run leaves the previous outputs as a
consistent set. Hidden names carry the writing process's id, so the next run in a folder can
remove the leftovers of a killed one (`clean_stale`) without touching a live run's files.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterable
from pathlib import Path

from cowopt.errors import CowoptError, InputError, Problem
from cowopt.workbook.files import lock_file_of

STAGE_PREFIX = ".cowopt-partial-"
# a staged file (".cowopt-partial-PID-N-name"), or the mkstemp file of workbook.atomic_path written
# inside one ("..cowopt-partial-PID-N-plan-XXXXXXXX.xlsx")
_STAGED = re.compile(r"^\.{1,2}cowopt-partial-(\d+)-")
# atomic_path's own temporary files for the names cowopt writes (".plan-k3j_x9a2.xlsx")
_LEGACY = re.compile(r"^\.(plan|map|frontier|diagnosis)-[a-z0-9_]{8}\.(xlsx|png)$")


def _same_file(a: Path, b: Path) -> bool:
    """Same path once resolved, or the same inode (a hard link, a bind mount, a case-insensitive name)."""
    try:
        if a.resolve() == b.resolve():
            return True
        sa, sb = a.stat(), b.stat()
    except (OSError, RuntimeError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_targets(targets: Iterable[Path], inputs: Iterable[Path | None]) -> None:
    """Raise InputError listing every target that would overwrite an input, is held open by an
    office program, or cannot be a file (a folder is in the way, or its folder is a file)."""
    inputs = [Path(p) for p in inputs if p is not None]
    problems = []
    for target in map(Path, targets):
        for source in inputs:
            if _same_file(target, source):
                problems.append(Problem(str(target), None, None, f"would overwrite the input {source}; "
                                        "choose another output folder (-o)"))
        lock = lock_file_of(target)
        if lock is not None:
            problems.append(Problem(str(target), None, None, f"is open in Excel or LibreOffice (lock file "
                                    f"{lock.name}); close it, or delete the lock file if no program has it "
                                    "open, or choose another output folder (-o)"))
        if target.is_dir():
            problems.append(Problem(str(target), None, None, "is a folder; an output file of this name "
                                    "cannot be written; choose another output folder (-o)"))
        blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            problems.append(Problem(str(target), None, None, f"cannot be written: {blocker} is a file, "
                                    "not a folder; choose another output folder (-o)"))
    if problems:
        raise InputError(list(dict.fromkeys(problems)))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove the hidden temporary files a killed cowopt run left in `folder`; returns them."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _STAGED.match(entry.name)
        stale = (match is not None and not _alive(int(match.group(1)))) or _LEGACY.match(entry.name) is not None
        if stale and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


class OutputSet:
    """Files written under hidden names, renamed onto their targets together by `commit()`.

    Used as a context manager: leaving the block by an exception (an error, Ctrl-C) removes
    every staged file and leaves every target as it was.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (hidden file, target)

    def stage(self, target: Path) -> Path:
        """The hidden path to write `target`'s content to (same folder, so the rename is atomic)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target.parent)
        hidden = target.parent / f"{STAGE_PREFIX}{os.getpid()}-{len(self._staged)}-{target.name}"
        self._staged.append((hidden, target))
        return hidden

    def commit(self) -> list[Path]:
        """Rename every staged file that was written onto its target; Ctrl-C waits until all are done."""
        held = [(t, lock_file_of(t)) for hidden, t in self._staged if hidden.exists() and lock_file_of(t)]
        if held:  # opened in Excel while the run worked: write none rather than some
            raise CowoptError("; ".join(f"{t} is open in Excel or LibreOffice (lock file {lock.name})"
                                        for t, lock in held) + "; close it and run again; nothing was written")
        blocked = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            done: list[Path] = []
            for hidden, target in self._staged:
                if hidden.exists():
                    try:
                        os.replace(hidden, target)
                    except OSError as exc:
                        raise CowoptError(f"cannot write {target}: {exc.strerror or exc}"
                                          + (f" (already written: {', '.join(map(str, done))})" if done else
                                             "; nothing was written")) from None
                    done.append(target)
            self._staged = []
            return done
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def discard(self) -> None:
        for hidden, _ in self._staged:
            try:
                hidden.unlink()
            except OSError:
                pass
        self._staged = []

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.discard()  # after commit() nothing is left to discard
