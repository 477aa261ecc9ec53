"""Use cases (inventory, ...) called by the CLI and the console with an ``AppContext``."""
