"""Development support shared by the tests and the benchmarks (never shipped in the Lambda layer).

- :mod:`engram.testing.fakes` — in-memory implementations of every repository port, for the
  unit tier (no moto, no sockets) and ``bench/``; ``tests/contract`` holds them to the same
  contract as the PynamoDB repositories.
- :mod:`engram.testing.tables` — moto tables created from ``template.yaml``'s own definitions.
- :mod:`engram.testing.server` — the real local server (``python -m engram.local``) in a subprocess.

It lives in the package (not under ``tests/``) so that ``bench/`` can use it without importing
the test suite; ``shared/Makefile`` leaves it out of the layer, and the layer-import guard
(``tests/unit/api/test_layer_imports.py``) checks that no function needs it.
"""
