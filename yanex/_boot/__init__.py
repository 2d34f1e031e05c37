"""A folder put on a prepared interpreter's PYTHONPATH for its start-up only (see yanex._warm)."""
