"""CSV upload of affected customers: store → preview → confirm → import in chunks.

1. ``import_upload`` writes the bytes durably under the imports folder (FRONTDESK_HOME) and
   reads them once into a preview on the ``AffectedImport`` row: encoding found, rows, the
   distinct customers it will add, duplicates merged, new customers it will create, the first
   row errors and a sample. Nothing is imported.
2. ``import_confirm`` (preview → queued) enqueues ``import_tasks.affected_import_run`` in the
   same transaction; ``import_cancel`` drops the upload.
3. ``import_run`` (the task) reads the stored file again (deterministic: same rows, same
   order), skips the ``processed_rows`` already done and adds the rest ``CHUNK`` customers per
   transaction, each commit also advancing ``processed_rows`` — the progress the page polls,
   and where a re-run after a worker crash resumes. Adding is idempotent, so a chunk done
   twice adds nobody twice.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import Conflict, InvalidInput
from frontdesk.core.tasks import enqueue_on_commit

from . import csvfile
from .events import record_activity
from .models import ActivityKind, AffectedImport, AffectedSource, ImportStatus, Incident
from .roster import RosterRow, merge_rows, roster_add, roster_row, unknown_emails

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_ERRORS_KEPT = 200
SAMPLE_ROWS = 10
CHUNK = 5000


def imports_dir() -> Path:
    return Path(getattr(settings, "FRONTDESK_INCIDENT_IMPORTS_DIR", settings.FRONTDESK_HOME / "incident-imports"))


def _store(chunks) -> tuple[str, int]:
    """Write the upload durably (0640, fsync, then rename into place); returns (name, size)."""
    folder = imports_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    name = f"{uuid.uuid4().hex}.csv"
    temporary = folder / f".{name}.part"
    size = 0
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_BYTES:
                    raise InvalidInput(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.",
                                       code="too_large")
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    finally:
        temporary.unlink(missing_ok=True)
    return name, size


@dataclass
class Parsed:
    rows: list[RosterRow]  # distinct, in file order
    total: int
    duplicates: int
    errors: list[dict]
    error_count: int
    encoding: str
    note: str


def parse_file(path: Path) -> Parsed:
    decoded = csvfile.decode(path.read_bytes())
    good: list[RosterRow] = []
    errors: list[dict] = []
    error_count = total = 0
    for row in csvfile.rows(decoded.text):
        total += 1
        if total > MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it.", code="too_many_rows")
        problem = row.error
        if row.values is not None:
            try:
                good.append(roster_row(row.values))
            except InvalidInput as exc:
                problem = exc.detail
        if problem:
            error_count += 1
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append({"row": row.number, "error": problem})
    distinct, duplicates = merge_rows(good)
    return Parsed(distinct, total, duplicates, errors, error_count, decoded.encoding, decoded.note)


def import_upload(*, incident: Incident, actor: Agent, filename: str, chunks) -> AffectedImport:
    """Store an upload and preview it. ``chunks``: an iterable of bytes (an uploaded file's
    ``.chunks()``). A file we cannot use at all (too large, no rows) is refused and removed."""
    check_full_agent(actor)
    name, size = _store(chunks)
    path = imports_dir() / name
    try:
        parsed = parse_file(path)
        if not parsed.total:
            raise InvalidInput("The file has no rows.", code="empty_file")
    except InvalidInput:
        path.unlink(missing_ok=True)
        raise
    return AffectedImport.objects.create(
        incident=incident, public_id=uuid.uuid4(), uploaded_by=actor, filename=(filename or "")[:255],
        stored_path=name, size=size, encoding=parsed.encoding, encoding_note=parsed.note,
        total_rows=parsed.total, valid_rows=len(parsed.rows), error_rows=parsed.error_count,
        duplicate_rows=parsed.duplicates, errors=parsed.errors,
        sample=[row.__dict__ for row in parsed.rows[:SAMPLE_ROWS]],
        new_customers=unknown_emails([row.email for row in parsed.rows]),
    )


@transaction.atomic
def import_confirm(*, affected_import: AffectedImport, actor: Agent) -> AffectedImport:
    """Preview → queued, and the import task enqueued with it. Confirming twice is refused."""
    check_full_agent(actor)
    from .import_tasks import affected_import_run

    if not affected_import.valid_rows:
        raise InvalidInput("Nothing to import: every row has an error.", code="nothing_to_import")
    claimed = AffectedImport.objects.filter(pk=affected_import.pk, status=ImportStatus.PREVIEW).update(
        status=ImportStatus.QUEUED, confirmed_at=timezone.now(),
    )
    if not claimed:
        raise Conflict("This import was already confirmed or cancelled.", code="import_not_pending")
    enqueue_on_commit(affected_import_run, import_id=affected_import.pk)
    affected_import.refresh_from_db()
    return affected_import


@transaction.atomic
def import_cancel(*, affected_import: AffectedImport, actor: Agent) -> AffectedImport:
    check_full_agent(actor)
    if not AffectedImport.objects.filter(pk=affected_import.pk, status=ImportStatus.PREVIEW).update(
            status=ImportStatus.CANCELLED, finished_at=timezone.now()):
        raise Conflict("Only an import waiting for confirmation can be cancelled.", code="import_not_pending")
    transaction.on_commit(lambda: (imports_dir() / affected_import.stored_path).unlink(missing_ok=True))
    affected_import.refresh_from_db()
    return affected_import


def _claim(import_id: int) -> AffectedImport | None:
    claimed = AffectedImport.objects.filter(
        pk=import_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
    ).update(status=ImportStatus.RUNNING)
    return AffectedImport.objects.select_related("incident", "uploaded_by").get(pk=import_id) if claimed else None


def _finish(job: AffectedImport, *, status: str, failure: str = "") -> None:
    AffectedImport.objects.filter(pk=job.pk).update(status=status, failure=failure, finished_at=timezone.now())
    (imports_dir() / job.stored_path).unlink(missing_ok=True)


def import_run(*, import_id: int) -> str:
    """The task's work: add the stored file's customers in chunks, resuming after the last
    committed chunk. Safe to run twice or after a crash."""
    job = _claim(import_id)
    if job is None:
        return "not pending"
    path = imports_dir() / job.stored_path
    if not path.exists():
        _finish(job, status=ImportStatus.FAILED, failure="The uploaded file is gone; upload it again.")
        return "file missing"
    try:
        _import_chunks(job, parse_file(path).rows)
    except (OperationalError, InterfaceError):
        raise  # the database is away: the task is retried and resumes
    except Exception as exc:
        _finish(job, status=ImportStatus.FAILED, failure=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    with transaction.atomic():
        record_activity(
            incident=job.incident, kind=ActivityKind.IMPORT, actor=job.uploaded_by,
            summary=f"Imported {job.filename or 'a CSV file'}: {job.added} customers added "
                    f"({job.created_customers} new), {job.error_rows} rows with errors skipped",
            import_id=str(job.public_id), added=job.added,
        )
        _finish(job, status=ImportStatus.DONE)
    return f"added {job.added}"


def _import_chunks(job: AffectedImport, rows: list[RosterRow]) -> None:
    for start in range(job.processed_rows, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        with transaction.atomic():
            result = roster_add(incident=job.incident, rows=chunk, source=AffectedSource.CSV, actor=job.uploaded_by)
            job.processed_rows = start + len(chunk)
            job.added += len(result.added)
            job.created_customers += result.customers_created
            AffectedImport.objects.filter(pk=job.pk).update(
                processed_rows=job.processed_rows, added=job.added, created_customers=job.created_customers,
            )
