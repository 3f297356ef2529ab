"""Work started on several threads at the same moment, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(*work: Callable[[], object]) -> None:
    """Run each callable on its own thread, released together; re-raise the first error."""
    start, errors = threading.Barrier(len(work)), []

    def run(fn: Callable[[], object]) -> None:
        start.wait()
        try:
            fn()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
