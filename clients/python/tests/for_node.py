"""What the Python client seals, for test/python-client.test.ts to open with the TypeScript codec.

Prints JSON: payloads sealed with the codec keys of ``AIRLOCK_CODEC_KEYS`` (with the values they hold), a failure
encoded by the Python failure converter (message and stack trace in sealed attributes), and the OpenAI tool
definitions of the shipped catalog. Not a test module: pytest does not collect it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys

from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from airlock_client import airlock_data_converter, codec_keys_from_env, load_catalog, openai_tools

VALUES = [
    {"customerId": "C-1001", "note": "from Python — “é” 😀 \u2028", "amount": 12.5, "list": [1, None, True]},
    "a string",
    None,
    [1, 2.5, -3],
    {"big": 2**60, "small": 1e-7},
]


async def main() -> None:
    keys = codec_keys_from_env()
    if keys is None:
        sys.exit("AIRLOCK_CODEC_KEYS is not set")
    converter = airlock_data_converter(keys)
    payloads = []
    for value in VALUES:
        [sealed] = await converter.encode([value])
        payloads.append({"value": value, "payload": base64.b64encode(sealed.SerializeToString()).decode()})
    failure = Failure()
    error = ApplicationError(
        "Python refused it — “because”", {"code": "x", "n": 1}, type="py_refusal", non_retryable=True
    )
    await converter.encode_failure(error, failure)
    print(
        json.dumps(
            {
                "payloads": payloads,
                "failure": {
                    "message": str(error.message),
                    "type": "py_refusal",
                    "details": [{"code": "x", "n": 1}],
                    "encoded": base64.b64encode(failure.SerializeToString()).decode(),
                },
                "openaiTools": openai_tools(load_catalog()),
            }
        )
    )


asyncio.run(main())
