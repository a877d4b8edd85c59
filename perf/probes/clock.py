"""A test function that measures the CPU it gets and runs a background thread between invokes."""

import hashlib
import threading
import time

_counter = 0
_counting = None
_BLOCK = b"x" * (1 << 20)  # hashing 1 MB releases the GIL: threads can use several cores


def _count() -> None:
    global _counter
    while True:
        _counter += 1
        time.sleep(0.001)


def _burn(until: float) -> None:
    while time.monotonic() < until:
        hashlib.sha256(_BLOCK).digest()


def handler(event, context):
    global _counting
    if event.get("action") == "burn":  # CPU-bound for `seconds` of wall time in `threads` threads
        cpu, wall = time.process_time(), time.monotonic()
        until = wall + event.get("seconds", 2.0)
        workers = [threading.Thread(target=_burn, args=(until,)) for _ in range(event.get("threads", 1))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return {"cpu_seconds": time.process_time() - cpu, "wall_seconds": time.monotonic() - wall}
    if event.get("action") == "work":  # a fixed amount of CPU work: its time shows the share
        for _ in range(event.get("blocks", 100)):
            hashlib.sha256(_BLOCK).digest()
        return {"blocks": event.get("blocks", 100)}
    if _counting is None:  # a background thread, as an SDK's worker would start
        _counting = threading.Thread(target=_count, daemon=True)
        _counting.start()
    before = _counter
    time.sleep(event.get("sleep", 0.0))
    return {"counter": _counter, "during": _counter - before}
