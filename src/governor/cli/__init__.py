"""The `governor` command line: one module per command group."""
