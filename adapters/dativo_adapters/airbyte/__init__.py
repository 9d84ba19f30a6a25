"""tap-airbyte: an Airbyte source (a Python package's console script or any executable that
speaks the Airbyte protocol) run as a child process and converted to Singer on stdout.

Modules: :mod:`.settings` (the tap's own config), :mod:`.child` (the connector process, its
private files and stderr), :mod:`.sync` (discover / read / spec / check), :mod:`.cli` (the
console script and its exit codes). Docs: docs/adapters/airbyte.md.
"""
