"""HTTP conventions shared by every plugin: error bodies, pagination, headers, CORS, health."""
