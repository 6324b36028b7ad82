"""The catalog and the tool definitions made from it, for OpenAI, Anthropic and frameworks like LangChain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airlock_client import (
    AirlockTools,
    ConfigError,
    UnknownTaskError,
    anthropic_tools,
    load_catalog,
    openai_tools,
    task_for_tool,
    tool_name_for,
)
from airlock_client.catalog import parse_catalog


def test_the_shipped_catalog_lists_the_tasks_with_json_schemas() -> None:
    catalog = load_catalog(env={})
    names = [t.name for t in catalog]
    assert "crm.add_note_to_customer" in names and "crm.update_customer" in names
    assert names == sorted(names)
    for t in catalog:
        assert t.input_schema.get("type") == "object"
        assert t.risk in ("low", "high", "critical")


def test_a_deployment_points_at_its_own_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"name": "x.do_it", "description": "d", "risk": "low", "inputSchema": {}}]))
    assert [t.name for t in load_catalog(env={"AIRLOCK_CATALOG_FILE": str(path)})] == ["x.do_it"]
    assert [t.name for t in load_catalog(path, env={})] == ["x.do_it"]


@pytest.mark.parametrize(
    "text,message",
    [
        ("{", "not JSON"),
        ("{}", "JSON array"),
        ('[{"name": "x.y"}]', "entry 0 is not a task"),
        ('[{"name":"a.b","description":"","risk":"low","inputSchema":{}},'
         '{"name":"a.b","description":"","risk":"low","inputSchema":{}}]', "twice"),
    ],
)
def test_a_malformed_catalog_is_refused_with_what_to_do(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_catalog(text, "tasks.json")


def test_openai_and_anthropic_tools_carry_name_description_and_schema() -> None:
    catalog = load_catalog(env={})
    openai = openai_tools(catalog)
    anthropic = anthropic_tools(catalog)
    assert len(openai) == len(anthropic) == len(catalog)
    for t, o, a in zip(catalog, openai, anthropic):
        assert o["type"] == "function"
        assert o["function"]["name"] == a["name"] == t.name.replace(".", "__")
        assert o["function"]["description"] == a["description"]
        assert a["description"].startswith(t.description) and f"Risk: {t.risk}" in a["description"]
        assert "$schema" not in o["function"]["parameters"]
        assert o["function"]["parameters"] == a["input_schema"]
        assert a["input_schema"]["properties"] == t.input_schema["properties"]


def test_tool_names_map_back_to_tasks_and_unknown_names_are_refused() -> None:
    catalog = load_catalog(env={})
    for t in catalog:
        assert task_for_tool(catalog, tool_name_for(t.name)) == t.name
    for bad in ["crm.add_note_to_customer", "crm__add_note_to_customer_x", "CRM__ADD_NOTE_TO_CUSTOMER", "", "x\x1b[2J"]:
        with pytest.raises(UnknownTaskError) as err:
            task_for_tool(catalog, bad)
        assert "\x1b" not in str(err.value)


class _Untouchable:
    """A client that must not be reached: a refused tool call proposes nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the client was used ({name}) for a call that must be refused first")


def test_a_tool_call_with_an_unknown_name_or_bad_arguments_proposes_nothing(run: Any) -> None:
    tools = AirlockTools(_Untouchable(), "support-bot", catalog=load_catalog(env={}))  # type: ignore[arg-type]
    with pytest.raises(UnknownTaskError):
        run(tools.call("ops__delete_everything", {}))
    with pytest.raises(Exception, match="not JSON"):
        run(tools.call("crm__add_note_to_customer", "{not json"))
    with pytest.raises(Exception, match="JSON object"):
        run(tools.call("crm__add_note_to_customer", "[1, 2]"))
    generic = tools.generic()
    assert [g.name for g in generic] == [o["function"]["name"] for o in tools.openai()]
    assert generic[0].parameters == tools.openai()[0]["function"]["parameters"]
