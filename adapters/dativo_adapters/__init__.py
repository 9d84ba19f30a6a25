"""Adapters that bring other connector kinds (Airbyte, Rust, plain Singer) onto the protocol."""
