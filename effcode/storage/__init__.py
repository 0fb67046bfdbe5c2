"""Storage plumbing below every other layer: atomic writes and reads (:mod:`.atomic`), checksummed files
(:mod:`.integrity`), training checkpoints (:mod:`.checkpoint`) and the provenance of a result
(:mod:`.provenance`).  Learners, data sources, encoding models and runs all use it; it imports nothing of
effcode above ``errors`` and ``validation``."""
