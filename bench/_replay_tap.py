"""Bench helper: a Singer tap that replays a prepared message file (given by DATIVO_BENCH_INPUT).

Accepts the Singer CLI flags (--config, --catalog, --state, --discover) and ignores them,
except --discover, which prints a one-stream catalog.
"""

import os
import shutil
import sys

if "--discover" in sys.argv:
    sys.stdout.write(
        '{"streams": [{"tap_stream_id": "bench", "stream": "bench", "schema": {"type": "object"}, "metadata": []}]}\n'
    )
    sys.exit(0)
with open(os.environ["DATIVO_BENCH_INPUT"], "rb") as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
