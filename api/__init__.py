"""HTTP API (FastAPI, versioned under /v1) and the operator dashboard."""
