"""Everything the CLI prints to the terminal, with text from inputs shown literally.

Cell text, scenario names, file names and messages built from them reach the terminal only
through `plain()` / `say()`: as rich Text (so "[red]" or "0:100:0" are not markup or emoji
codes), with control characters (ESC, BEL, CR, C1, bidi overrides) shown as visible escapes
instead of acting on the terminal. Our own styling is passed separately as (text, style).
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

# C0 except newline, DEL, C1; Unicode bidi embeddings/overrides/isolates (they reorder what is shown)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NARROW = 100  # columns: below this, tables are laid out vertically (one record per block)


def clean(text: object) -> str:
    """`text` as a string whose control characters are shown as escapes (ESC -> "\\x1b")."""
    def visible(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(visible, str(text))


def plain(text: object, style: str = "") -> Text:
    """Input-derived text as rich Text: never markup, never emoji codes, controls made visible."""
    return Text(clean(text), style=style)


def console() -> Console:
    """The CLI's console: stderr, no emoji codes, no automatic highlighting of numbers or paths."""
    return Console(stderr=True, highlight=False, emoji=False)


def say(out: Console, *parts) -> None:
    """Print one message made of parts: a (text, style) tuple is ours and styled; anything else
    came from an input and is shown literally."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(part[0], style=part[1])
        else:
            line.append_text(plain(part))
    out.print(line, soft_wrap=True)
