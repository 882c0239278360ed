"""The Hydra side: config schemas, validation, the ``python`` axis, launching cells, resuming, progress."""
