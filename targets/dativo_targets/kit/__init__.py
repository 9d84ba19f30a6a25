"""The target kit: what every Dativo target shares (settings, CLI, ingest loop, checkpoints).

A target implements :class:`~dativo_targets.kit.sink.Sink` and builds its console script with
:func:`~dativo_targets.kit.cli.target_main`; :func:`~dativo_targets.kit.loop.run_target` reads the
Singer stream, turns records into Arrow batches, validates them, calls the sink and emits STATE
only after the sink committed everything before it. Import from the submodules: this package
imports nothing heavy.
"""
