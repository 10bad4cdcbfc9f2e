"""Domain operations: plain functions that add and flush; the caller commits."""
