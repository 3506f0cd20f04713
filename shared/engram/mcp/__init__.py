"""Engram's MCP server: the same tools over stdio (``engram mcp``, calling an Engram API with the
SDK) and over Streamable HTTP (``POST /mcp``, a Lambda calling the services for the caller's tenant).

``tools`` defines the tools once; a backend (``api_backend`` or ``service_backend``) carries them out.
"""
