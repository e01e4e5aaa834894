"""The web face: FastAPI app, pages and JSON API."""
