"""AWS's answer to a throttled Lambda behind API Gateway, for the ``throttle`` capacity mode.

AWS's API Gateway answers 500 ``{"message": "Internal server error"}`` when the Lambda invoke
is throttled (TooManyRequestsException) and 502 for a function error; LocalStack 2026.3.0
answers 502 for both. This wraps the one method that decides, and only when the class still
has the shape it was written against: on another LocalStack it logs and leaves it alone.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

LOG = logging.getLogger(__name__)
THROTTLED = "TooManyRequestsException"
_MARK = "_lambda_process_executor_throttle_500"


def answer_throttles_with_500() -> bool:
    """Installs the mapping; returns whether it is in place."""
    try:
        from botocore.exceptions import ClientError
        from localstack.services.apigateway.next_gen.execute_api.gateway_response import (
            IntegrationFailureError,
        )
        from localstack.services.apigateway.next_gen.execute_api.integrations.aws import (
            RestApiAwsProxyIntegration,
        )
    except ImportError as error:
        LOG.warning("throttle mode: API Gateway keeps answering 502 for throttles (%s)", error)
        return False
    original = RestApiAwsProxyIntegration.invoke
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    def invoke(self: Any, context: Any) -> Any:
        try:
            return original(self, context)
        except IntegrationFailureError as failure:
            cause = failure.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == THROTTLED:
                raise IntegrationFailureError("Internal server error", status_code=500) from cause
            raise

    setattr(invoke, _MARK, True)
    RestApiAwsProxyIntegration.invoke = invoke
    return True
