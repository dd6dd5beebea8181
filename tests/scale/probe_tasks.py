"""Real tasks for the multi-process tests: each run appends a line to FRONTDESK_PROBE_LOG
(O_APPEND: lines from several processes never interleave), so a test counts runs exactly."""

import os
import time

from frontdesk.core.tasks import retrying_task


def _log(line: str) -> None:
    with open(os.environ["FRONTDESK_PROBE_LOG"], "a") as log:
        log.write(line + "\n")


@retrying_task
def record_run(*, n: int) -> None:
    _log(f"run {n}")


@retrying_task
def slow_run(*, n: int) -> None:
    """Sleeps FRONTDESK_PROBE_SLEEP seconds between its start and end lines (a long task)."""
    _log(f"start {n}")
    time.sleep(float(os.environ.get("FRONTDESK_PROBE_SLEEP", "0")))
    _log(f"end {n}")
