"""Fleet regression replay on Ray: see docs/fleet.md."""
__version__ = "0.1.0"
