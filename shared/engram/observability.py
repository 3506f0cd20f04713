"""One Logger for every function (Powertools, JSON, service name from POWERTOOLS_SERVICE_NAME).

X-Ray tracing is switched on in the template (``Tracing: Active``) at the Lambda level; the
Powertools Tracer is left out on purpose because aws-xray-sdk costs ~100 ms of cold start.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="engram")
