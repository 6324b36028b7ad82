"""Text a person reads, made safe to print, as common/terminal-text.ts makes it.

Every C0 and C1 control character, DEL, the line and paragraph separators, and every format, private-use or
default-ignorable character (bidirectional controls, zero-width characters, variation selectors, fillers, Unicode tag
characters that hide text a model would still read) become visible escapes like ``\\x1b``, ``\\u202e`` or
``\\u{e0041}``: a value that came from an agent, a model or Temporal cannot clear a terminal, forge a line, reorder
what is shown or hide words.

The character classes are spelled out as Unicode 16 defines them (V8's tables, on Node 24), with Python's own format
and private-use categories added: Python's Unicode version may be older. The shared vectors hold every code point
TypeScript escapes, and tests/test_vectors.py checks this escapes exactly those.
"""

from __future__ import annotations

import bisect
import json
import unicodedata
from typing import Any

__all__ = ["visible", "is_unsafe"]

# Inclusive ranges: C0, DEL and C1, the separators; format (Cf), private use (Co) and Default_Ignorable_Code_Point.
_RANGES = sorted(
    [
        (0x0000, 0x001F), (0x007F, 0x009F), (0x2028, 0x2029),
        # Cf (Unicode 16)
        (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
        (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
        (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
        (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        # Co
        (0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
        # Default_Ignorable_Code_Point (Unicode 16)
        (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2060, 0x206F), (0x3164, 0x3164),
        (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
    ]
)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


_DISJOINT = _merged(_RANGES)
_STARTS = [start for start, _ in _DISJOINT]


def is_unsafe(char: str) -> bool:
    """Whether one character is shown escaped."""
    code = ord(char)
    i = bisect.bisect_right(_STARTS, code) - 1
    if i >= 0 and code <= _DISJOINT[i][1]:
        return True
    return unicodedata.category(char) in ("Cf", "Co")


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\u{{{code:x}}}"


def visible(value: Any) -> str:
    """A value as one safe line of text."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            text = str(value)
    return "".join(_escape(c) if is_unsafe(c) else c for c in text)
