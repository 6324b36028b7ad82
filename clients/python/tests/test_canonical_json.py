"""Canonical JSON on values only Python has: what reaches the worker is what was signed, or nothing is sent."""

from __future__ import annotations

import hashlib
import math

import pytest

from airlock_client import canonical_json, sha256_canonical
from airlock_client.canonical_json import js_number


def test_tuples_are_arrays_and_floats_that_are_whole_are_written_as_javascript_writes_them() -> None:
    assert canonical_json({"b": (1.0, 2), "a": -0.0}) == '{"a":0,"b":[1,2]}'


def test_integers_past_2_53_are_written_as_the_double_the_worker_will_read() -> None:
    # json.dumps sends every digit; JSON.parse rounds to the nearest double; the digest must be over that double.
    assert canonical_json(2**53 + 1) == "9007199254740992"
    assert canonical_json(10**21) == "1e+21"
    assert canonical_json(2**53) == "9007199254740992"


def test_a_surrogate_pair_held_as_two_code_points_is_one_character_as_in_javascript() -> None:
    assert canonical_json("\ud83d\ude00") == canonical_json("😀") == '"😀"'
    assert canonical_json("\ud83d") == '"\\ud83d"'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400, {1: "a"}, {"a": {1, 2}}, b"bytes", object()])
def test_what_cannot_be_signed_alike_on_both_sides_is_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(bad)


def test_js_number_layout() -> None:
    assert [js_number(x) for x in (1e-7, 1e-6, 1e21, 1e20, 1.5, 123e-20, 5e-324)] == [
        "1e-7",
        "0.000001",
        "1e+21",
        "100000000000000000000",
        "1.5",
        "1.23e-18",
        "5e-324",
    ]


def test_digest_is_sha256_of_the_utf8_text() -> None:
    assert sha256_canonical({"é": 1}) == hashlib.sha256('{"é":1}'.encode()).hexdigest()
