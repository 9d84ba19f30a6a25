"""tap-csv: a drop-in for MeltanoLabs tap-csv's config, on the Dativo tap kit."""
