"""``engram export`` / ``engram import``: a tenant's data out to NDJSON and back, through the API.

They use the SDK (``engram_client``), so they work against ``make run`` and a deployed stack
alike. ``formats`` reads the files (Engram's NDJSON, mem0's ``get_all`` JSON, AgentCore's
``ListMemoryRecords`` JSON) into records with their line numbers; ``exporter`` and ``importer``
do the rest.
"""
