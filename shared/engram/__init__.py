"""Engram: sessions and long-term memory for AI agents.

The package is the Lambda layer every function imports. Importing it is cheap on purpose:
sub-packages import what they use, and nothing here touches the network or the environment.
"""

__version__ = "0.1.0"
