"""The CSV import's background work (kept apart from ``tasks.py``, which holds the broadcasts'
tasks): thin, ids only, safe to run twice — it resumes after the last committed chunk."""

from __future__ import annotations

from frontdesk.core.tasks import retrying_task


@retrying_task
def affected_import_run(*, import_id: int) -> str:
    from .imports import import_run

    return import_run(import_id=import_id)
