"""The package version (one place: the root, the CLI's --version and run provenance read it)."""

__version__ = "0.1.0"
