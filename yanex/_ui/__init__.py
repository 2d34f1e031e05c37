"""The web UI (``yanex ui``): a Starlette app over the store, served by uvicorn."""
