"""tagreg: a Git-native model and artifact registry whose tags are GTO's."""

__version__ = "0.1.0"
