"""Stdout is the document.

`cowopt ... --json` prints exactly one JSON document on stdout, whatever happens: a plan, bad
input, infeasibility, a time limit, Ctrl-C, a bug. Everything else goes to stderr: cowopt's own
messages (rich consoles on stderr) and whatever a library prints. HiGHS prints its banner from
C++ straight to file descriptor 1 when the first solver object is made (highspy 1.16), which
Python-level redirection cannot catch; so the command keeps a duplicate of the real stdout for
the document and points descriptor 1 at stderr for the rest of the run.
"""

from __future__ import annotations

import io
import json
import os
import sys

_document_stream = None  # the real stdout, while reserved
_stdout_fd: int | None = None  # the descriptor that was pointed at stderr
_python_stdout = None  # sys.stdout before it was pointed at the document stream


def reserve_stdout() -> None:
    """From now on, descriptor 1 is stderr, and Python's `sys.stdout` (click's help, `emit`)
    writes to the original stdout. Does nothing
    when stdout is not a real file (click's CliRunner, a notebook): nothing else writes there."""
    global _document_stream, _stdout_fd, _python_stdout
    if _document_stream is not None:
        return
    try:
        fd = sys.stdout.fileno()
        err = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    os.dup2(err, fd)
    _stdout_fd = fd
    _document_stream = os.fdopen(saved, "w", encoding="utf-8", closefd=True, buffering=1)
    # Python-level output (click's --help and --version, the document) still goes to stdout
    _python_stdout, sys.stdout = sys.stdout, _document_stream


def restore_stdout() -> None:
    """Give descriptor 1 back its original target (a caller that runs `main` in-process and
    prints afterwards finds stdout as it was)."""
    global _document_stream, _stdout_fd, _python_stdout
    if _document_stream is None:
        return
    for stream in (sys.stdout, sys.stderr, _document_stream):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.dup2(_document_stream.fileno(), _stdout_fd)
    sys.stdout = _python_stdout
    _document_stream.close()
    _document_stream, _stdout_fd, _python_stdout = None, None, None


def emit(document) -> None:
    """Write the one JSON document (and a newline) to the real stdout."""
    text = json.dumps(document, indent=2, default=str, allow_nan=False) if not isinstance(document, str) else document
    stream = _document_stream if _document_stream is not None else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def clean_for_json(value):
    """NaN and infinities are not JSON: they become null (json.dumps would write NaN)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean_for_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_for_json(v) for v in value]
    return value
