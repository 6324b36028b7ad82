"""Airlock for agent backends in Python.

``AirlockClient`` proposes actions signed with the agent's Ed25519 key, follows them and lists them and the tasks,
through the official Temporal Python SDK with Airlock's AES-256-GCM payload codec; ``AirlockTools`` offers the tasks
as tools to OpenAI, Anthropic or any framework that takes ``(name, description, parameters, call)``.
"""

from .action_id import action_id_for
from .agent_tools import AirlockTool, AirlockTools
from .agent_view import HIDDEN_FROM_AGENTS, agent_view
from .canonical_json import canonical_json, sha256_canonical
from .catalog import Task, load_catalog, parse_catalog
from .client import (
    ACTION_STATUSES,
    AIRLOCK_TASK_QUEUE,
    DECIDING_STATUSES,
    FINAL_STATUSES,
    ActionSummary,
    AirlockClient,
    Proposal,
    is_final_status,
)
from .codec import AesGcmCodec, CodecKeys, airlock_data_converter, codec_keys_from_env, parse_codec_keys
from .errors import (
    ActionNotFoundError,
    ActionTimeoutError,
    AirlockError,
    CodecError,
    ConfigError,
    IdempotencyConflictError,
    PlanIntegrityError,
    UnknownTaskError,
)
from .plan_check import checked_state, plan_hash, plan_hash_body
from .signing import load_signing_key, public_key_text, sign_payload, signed_text, verify_payload
from .tool_definitions import anthropic_tools, openai_tools, task_for_tool, tool_name_for

__all__ = [
    "ACTION_STATUSES",
    "AIRLOCK_TASK_QUEUE",
    "DECIDING_STATUSES",
    "FINAL_STATUSES",
    "HIDDEN_FROM_AGENTS",
    "ActionNotFoundError",
    "ActionSummary",
    "ActionTimeoutError",
    "AesGcmCodec",
    "AirlockClient",
    "AirlockError",
    "AirlockTool",
    "AirlockTools",
    "CodecError",
    "CodecKeys",
    "ConfigError",
    "IdempotencyConflictError",
    "PlanIntegrityError",
    "Proposal",
    "Task",
    "UnknownTaskError",
    "action_id_for",
    "agent_view",
    "airlock_data_converter",
    "anthropic_tools",
    "canonical_json",
    "checked_state",
    "codec_keys_from_env",
    "is_final_status",
    "load_catalog",
    "load_signing_key",
    "openai_tools",
    "parse_catalog",
    "parse_codec_keys",
    "plan_hash",
    "plan_hash_body",
    "public_key_text",
    "sha256_canonical",
    "sign_payload",
    "signed_text",
    "task_for_tool",
    "tool_name_for",
    "verify_payload",
]
