"""Shared fixtures. Real services only: PostgreSQL, an S3-compatible server, real peer tools."""

pytest_plugins = [
    "tests.fixtures.cli",
    "tests.fixtures.services",
    "tests.fixtures.peers",
]
