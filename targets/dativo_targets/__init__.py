"""Dativo targets: Singer loaders (console scripts ``target-*``)."""
