"""The in-process figures every download client reports to run.py, on one ``BENCH`` line.

A client times only what a user's code would wait for: from the request to the file being
in place (durable where the client fsyncs). Interpreter start-up, imports and building the
client are outside that window; run.py measures the whole process separately.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed() -> Iterator[None]:
    """Time the block (wall and this process's CPU, all threads) and report it on stdout."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # measure.py sends the client's stdout to stderr, where run.py looks for this line.
    print("BENCH " + json.dumps({"wall": wall, "cpu": cpu}), flush=True)
