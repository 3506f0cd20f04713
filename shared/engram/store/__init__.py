"""Repositories: the only code that touches DynamoDB (through PynamoDB).

Models are declared with a placeholder table name; :func:`bind` points them at the tables
named in the settings the first time a repository is built, so nothing reads the environment
at import time and tests can point the same models at moto tables.
"""
