"""The editors' layer: the edit journal (store), applying it (apply: the ``review`` stage), the web app (server)."""
