"""The composition root: the `suz` command and `bootstrap`, which build a process from its
settings. Nothing imports this package; it imports whatever it assembles (domain, projections,
audit, web)."""
