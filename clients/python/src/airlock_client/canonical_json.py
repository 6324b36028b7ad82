"""Canonical JSON, byte for byte as Airlock's TypeScript side writes it (common/canonical-json.ts).

Object keys sorted at every level (by UTF-16 code units, as JavaScript compares strings), no whitespace, strings
escaped as ``JSON.stringify`` escapes them, numbers written as JavaScript writes them. Signatures, input digests and
plan hashes are made over this text, so it must never differ from the TypeScript side's: shared test vectors
(``tests/vectors/shared-vectors.json``) hold both to it.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

__all__ = ["canonical_json", "sha256_canonical", "js_number"]

# Integers beyond this are not exact in a JavaScript number: the worker sees them rounded to the nearest double.
_MAX_SAFE = 2**53

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(text: str) -> str:
    """A string as ``JSON.stringify`` writes it: raw UTF-8 but for quotes, backslashes, C0 and lone surrogates."""
    out = ['"']
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        code = ord(c)
        if c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            # A surrogate pair held as two code points is one character to JavaScript: written as it is.
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 1
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
        i += 1
    out.append('"')
    return "".join(out)


def js_number(value: float) -> str:
    """A finite number as JavaScript's ``Number.prototype.toString`` writes it (ECMA-262 Number::toString).

    Both languages find the shortest digits that read back as the same double; only the layout differs
    (``1e-7`` not ``1e-07``, ``10000000000000000`` not ``1e+16``, ``1`` not ``1.0``).
    """
    if not math.isfinite(value):
        raise TypeError("canonical_json: non-finite number")
    if value == 0:
        return "0"  # -0 too, as JavaScript writes it
    sign = "-" if value < 0 else ""
    text = repr(abs(float(value)))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    leading_zeros = len(all_digits) - len(digits)
    # The value is 0.<digits> x 10^point.
    point = len(whole) + (int(exponent) if exponent else 0) - leading_zeros
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * (-point) + digits
    e = point - 1
    exp = f"e+{e}" if e >= 0 else f"e-{-e}"
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + exp


def _utf16_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare as JavaScript compares strings: code unit by code unit.
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """The canonical JSON of a JSON value (dict with string keys, list or tuple, str, int, float, bool, None).

    Raises ``TypeError`` for anything else (a non-string key, a set, bytes, an object, NaN or infinity), as the
    TypeScript side refuses non-finite numbers: what cannot be signed the same on both sides is never signed.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        try:
            return js_number(float(value))
        except OverflowError:
            raise TypeError("canonical_json: non-finite number") from None
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"canonical_json: object keys must be strings, not {type(key).__name__}")
        keys = sorted(value, key=_utf16_key)
        return "{" + ",".join(f"{_string(k)}:{canonical_json(value[k])}" for k in keys) + "}"
    raise TypeError(f"canonical_json: {type(value).__name__} is not a JSON value")


def sha256_canonical(value: Any) -> str:
    """Hex sha-256 of the canonical JSON (UTF-8): input digests and plan hashes, as ``crypto/sha256.ts``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
