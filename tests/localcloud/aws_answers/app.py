"""A function that reports what AWS's recorded tests look at: its Python, environment, limits."""

import os
import resource
import sys
import time


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("bytes"):
        return "a" * event["bytes"]
    if event.get("raise"):
        raise ValueError(event["raise"])
    return {
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "stack": list(resource.getrlimit(resource.RLIMIT_STACK)),
        "memlock": list(resource.getrlimit(resource.RLIMIT_MEMLOCK)),
    }
