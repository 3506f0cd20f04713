"""The local runtime (``make run``): the template's handlers, moto DynamoDB, streams, schedules.

Not shipped in the Lambda layer. Start it with ``python -m engram.local`` or, from tests and
benchmarks, ``engram.local.runtime.LocalRuntime(template, data_dir, port).start()``.
Importing this package does nothing else: moto and the handlers load when a runtime starts.
"""
