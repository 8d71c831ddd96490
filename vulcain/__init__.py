"""Vulcain: deploy trained neural networks and serve them over HTTP."""

__version__ = "0.1.0"
