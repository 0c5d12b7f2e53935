"""The built-in ``assistant`` MCP server and its SQLite store (see :mod:`.server`)."""
