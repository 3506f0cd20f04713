"""The storage adapters: the only code that touches DynamoDB (through PynamoDB).

Each repository implements a port of :mod:`engram.ports` and speaks its domain types; every
PynamoDB model, expression, condition and transaction lives here. Models are declared with a
placeholder table name; :func:`engram.store.base.bind` points them at the tables named in the
settings when a repository is built, so nothing reads the environment at import time and tests
can point the same models at moto tables.
"""
