"""The engine behind every face: lifecycle, metrics, params, artifacts, processes, queries."""
