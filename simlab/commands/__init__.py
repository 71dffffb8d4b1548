"""Sub-commands of the ``simlab`` CLI (one module each, imported lazily)."""
