"""Dativo taps: standalone Singer extractors (console scripts ``tap-*``)."""
