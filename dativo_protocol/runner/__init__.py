"""The runner, registry and ``dativo`` CLI: the top layer.

It starts connectors as processes and never imports their code.
"""
