"""Says how AWS started its environment; fails its init when that is provisioned concurrency
and FAIL_PROVISIONED is set (the shape of AWS's own recorded test)."""

import os

INIT_TYPE = os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]
if INIT_TYPE == "provisioned-concurrency" and os.environ.get("FAIL_PROVISIONED"):
    raise Exception("Intentional failure upon provisioned concurrency initialization")


def handler(event, context):
    return INIT_TYPE
