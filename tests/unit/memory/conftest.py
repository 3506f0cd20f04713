"""Unit tests of the memory side: no AWS, no sockets (the OpenSearch tests use a recording
transport; the contract suite talks to a real OpenSearch only when OPENSEARCH_URL is set)."""
