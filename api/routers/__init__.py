"""One router per resource; the app includes them (see api/app.py)."""
