"""Text a person reads, made safe to print, as common/terminal-text.ts makes it.

Every C0 and C1 control character, DEL, and the Unicode bidirectional and invisible formatting characters become
visible escapes like ``\\x1b`` or ``\\u202e``: a value that came from an agent, a model or Temporal cannot clear a
terminal, forge a line or reorder what is shown.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["visible"]

_UNSAFE = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """A value as one safe line of text."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            text = str(value)
    return _UNSAFE.sub(_escape, text)
