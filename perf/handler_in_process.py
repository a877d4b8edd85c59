"""Runs a function's handler in this interpreter, without LocalStack: `make bench` compares it
with an Invoke through LocalStack (the executor's overhead). Prints JSON: {cold, warm: [...]}.

Usage (with the Lambda runtime's interpreter, the function and its layers on PYTHONPATH):
    python perf/handler_in_process.py '<event JSON>' [warm invokes]
"""

import json
import sys
import time


class Context:
    function_name = "local"
    aws_request_id = "in-process"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:local"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def main() -> None:
    started = time.perf_counter()
    import app  # the function's module: its init is part of the cold measurement

    event = json.loads(sys.argv[1])
    app.app(event, Context())
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 20):
        started = time.perf_counter()
        app.app(event, Context())
        warm.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"cold": cold, "warm": warm}))


if __name__ == "__main__":
    main()
