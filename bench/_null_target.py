"""Bench helper: a Singer target that commits nothing and acknowledges every STATE it reads.

Reads stdin line by line (like any Python target must) and echoes each STATE's value.
"""

import sys

import orjson

out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if b'"STATE"' in line:
        msg = orjson.loads(line)
        if msg.get("type") == "STATE":
            out.write(orjson.dumps(msg["value"]) + b"\n")
            out.flush()
