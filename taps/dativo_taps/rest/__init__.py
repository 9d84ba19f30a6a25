"""tap-rest."""
