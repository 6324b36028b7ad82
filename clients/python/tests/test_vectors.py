"""The Python client computes exactly what the TypeScript side computes, on the vectors the TypeScript side wrote
(tests/vectors/shared-vectors.json, checked by test/python-client.test.ts too)."""

from __future__ import annotations

import asyncio
import json
import base64
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from airlock_client import (
    AesGcmCodec,
    CodecError,
    Task,
    action_id_for,
    agent_view,
    airlock_data_converter,
    canonical_json,
    checked_state,
    parse_codec_keys,
    plan_hash,
    public_key_text,
    sha256_canonical,
    sign_payload,
    signed_text,
)
from airlock_client.catalog import parse_catalog

from conftest import vector_key


def _private_key(vectors: dict[str, Any]) -> Any:
    return vector_key(vectors)


def test_canonical_json_and_digests_match_typescript_byte_for_byte(vectors: dict[str, Any]) -> None:
    cases = vectors["canonical"]
    assert len(cases) > 150
    mismatches = [
        (c["value"], canonical_json(c["value"]), c["canonical"])
        for c in cases
        if canonical_json(c["value"]) != c["canonical"] or sha256_canonical(c["value"]) != c["sha256"]
    ]
    assert mismatches == []


def test_proposals_and_decisions_sign_as_typescript_signs_them(vectors: dict[str, Any]) -> None:
    key = _private_key(vectors)
    assert public_key_text(key) == vectors["signing"]["publicKey"]
    for p in vectors["signing"]["proposals"]:
        assert signed_text("airlock.proposal.v1", p["payload"]) == p["signedText"]
        assert sign_payload("airlock.proposal.v1", p["payload"], key) == p["signature"]
    for d in vectors["signing"]["decisions"]:
        assert signed_text("airlock.decision.v1", d["payload"]) == d["signedText"]
        assert sign_payload("airlock.decision.v1", d["payload"], key) == d["signature"]


def test_action_ids_from_idempotency_keys_match_typescript(vectors: dict[str, Any]) -> None:
    key = _private_key(vectors)
    for a in vectors["signing"]["actionIds"]:
        assert action_id_for(a["agent"], a["idempotencyKey"], key) == a["actionId"]


def test_plan_hash_matches_and_a_changed_plan_is_refused(vectors: dict[str, Any]) -> None:
    v = vectors["planHash"]
    assert plan_hash(v["task"], v["input"], v["plan"]) == v["hash"]
    state = {"id": "act-1", "task": v["task"], "input": v["input"], "plan": {**v["plan"], "hash": v["hash"]}}
    assert checked_state(state) == state


def test_agent_views_match_typescript(vectors: dict[str, Any]) -> None:
    catalog = parse_catalog(json.dumps(vectors["agentView"]["catalog"]), "vectors")
    assert all(isinstance(t, Task) for t in catalog)
    for case in vectors["agentView"]["cases"]:
        assert agent_view(case["state"], catalog) == case["view"]


def _payload(text: str) -> Payload:
    return Payload.FromString(base64.b64decode(text))


def test_payloads_sealed_by_typescript_open_in_python_with_either_key(vectors: dict[str, Any]) -> None:
    keys = parse_codec_keys(json.dumps(vectors["codec"]["keys"]), "vectors")
    converter = airlock_data_converter(keys)
    for good in vectors["codec"]["good"]:
        [value] = asyncio.run(converter.decode([_payload(good["payload"])]))
        assert value == good["value"], good["key"]
    assert {g["key"] for g in vectors["codec"]["good"]} == {"k1", "k2"}


@pytest.mark.parametrize("index", range(5))
def test_payloads_not_sealed_with_our_keys_are_refused(vectors: dict[str, Any], index: int) -> None:
    refused = vectors["codec"]["refused"][index]
    codec = AesGcmCodec(parse_codec_keys(json.dumps(vectors["codec"]["keys"]), "vectors"))
    with pytest.raises(CodecError):
        codec.decode_one(_payload(refused["payload"]))


def test_a_failure_encoded_by_typescript_decodes_with_its_message_type_and_details(vectors: dict[str, Any]) -> None:
    v = vectors["codec"]["failure"]
    failure = Failure.FromString(base64.b64decode(v["encoded"]))
    # In the clear only the placeholder: the real message is sealed in the encoded attributes.
    assert failure.message == "Encoded failure"
    keys = parse_codec_keys(json.dumps(vectors["codec"]["keys"]), "vectors")
    error = asyncio.run(airlock_data_converter(keys).decode_failure(failure))
    assert isinstance(error, ApplicationError)
    assert error.message == v["message"]
    assert error.type == "malformed"
    assert error.non_retryable is True
    assert list(error.details) == v["details"]


def test_terminal_text_escapes_exactly_what_typescript_escapes(vectors: dict[str, Any]) -> None:
    from airlock_client.terminal_text import is_unsafe, visible

    ranges: list[list[int]] = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        if not is_unsafe(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    assert ranges == vectors["terminalText"]["escapedRanges"]
    for sample in vectors["terminalText"]["samples"]:
        assert visible(sample["text"]) == sample["visible"]
