"""Talking to AWS, one module per concern: ``budget`` (how long and how often a run waits on AWS:
the one retry rule), ``endpoints`` (endpoint and region rules), ``client`` (botocore clients and
the mapping of their errors). ``from credproc import aws`` gives the public names of all three.
"""

from credproc.aws.budget import (
    CONNECT_TIMEOUT,
    LOCK_GRACE,
    MAX_ATTEMPTS,
    MIN_TRY_TIMEOUT,
    READ_TIMEOUT,
    RUN_BUDGET,
    budget,
    paused,
    time_left,
    wait_limit,
)
from credproc.aws.client import (
    SSO_FIELDS,
    STS_FIELDS,
    VALIDATION_CODES,
    answer_credentials,
    calling,
    client,
    reading,
    sts_credentials,
)
from credproc.aws.endpoints import DEFAULT_REGION, endpoint_url, region_for

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_REGION",
    "LOCK_GRACE",
    "MAX_ATTEMPTS",
    "MIN_TRY_TIMEOUT",
    "READ_TIMEOUT",
    "RUN_BUDGET",
    "SSO_FIELDS",
    "STS_FIELDS",
    "VALIDATION_CODES",
    "answer_credentials",
    "budget",
    "calling",
    "client",
    "endpoint_url",
    "paused",
    "reading",
    "region_for",
    "sts_credentials",
    "time_left",
    "wait_limit",
]
