"""Dativo's native accelerator: a strict Singer JSON -> Arrow buffers decoder, and a newline
counter for the runner's relay.

An optional speed-up for the target kit (``dativo_targets.kit.native``); every result it gives
is also what the pure-Python paths give, and anything it is unsure of it rejects.
"""

from dativo_native._native import Decoder, canonical_json, count_newlines

__all__ = ["Decoder", "canonical_json", "count_newlines"]
