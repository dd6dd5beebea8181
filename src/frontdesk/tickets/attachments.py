"""Attachment storage: files under FRONTDESK_HOME/attachments, never in a served folder, and
the one way they are sent to a browser (`download_response`)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import FileResponse

from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

if TYPE_CHECKING:
    from .models import Attachment

_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content: bytes
    content_type: str = ""
    public_id: uuid.UUID | None = None  # pre-assigned when the caller must link to it (inline images)


def clean_filename(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/"))
    base = single_line(base, max_length=200).lstrip(".")
    return base or "attachment"


def clean_content_type(content_type: str, filename: str) -> str:
    content_type = content_type.split(";")[0].strip().lower()
    if _CONTENT_TYPE.match(content_type):
        return content_type
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def attachments_dir() -> Path:
    return Path(settings.FRONTDESK_ATTACHMENTS_DIR)


def check_size(content: bytes) -> None:
    if len(content) > settings.FRONTDESK_MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"Attachment is larger than {settings.FRONTDESK_MAX_ATTACHMENT_BYTES} bytes.",
            code="attachment_too_large",
        )


def store_file(content: bytes) -> tuple[str, str]:
    """Write bytes durably (0640); return (stored name, sha256)."""
    check_size(content)
    digest = hashlib.sha256(content).hexdigest()
    stored_name = f"{digest[:2]}/{uuid.uuid4().hex}"
    path = attachments_dir() / stored_name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return stored_name, digest


def delete_file(stored_name: str) -> None:
    (attachments_dir() / stored_name).unlink(missing_ok=True)


def open_file(stored_name: str):
    path = (attachments_dir() / stored_name).resolve()
    if attachments_dir().resolve() not in path.parents:
        raise InvalidInput("Bad attachment path.")
    return path.open("rb")


def download_response(attachment: Attachment) -> FileResponse:
    """The stored file of ``attachment`` as a download for a caller already allowed to see it:
    never rendered inline, never sniffed, sandboxed if a browser opens it anyway."""
    response = FileResponse(
        open_file(attachment.stored_name), as_attachment=True, filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
