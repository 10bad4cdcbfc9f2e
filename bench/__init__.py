"""Load tests run by hand (``python -m bench.load_submit``), never by pytest."""
