"""See the module docstrings; filled in by the area's issue."""
