"""IMAP polling (RELIABILITY.md §2.1): new mail of a mailbox becomes inbound messages exactly
as SMTP mail does, through the durable spool.

One poll of one mailbox:

1. Connect with verified TLS: implicit (993) or STARTTLS, never plaintext; log in; select the
   folder read-write.
2. Find where to start. The first poll starts at the oldest unread message (mail read before
   Frontdesk was connected is history, not new tickets). A changed ``UIDVALIDITY`` (the
   server renumbered the folder) starts again from the beginning of the folder.
3. Fetch the UIDs above ``last_uid`` in batches, without setting ``\\Seen`` (``BODY.PEEK``).
4. For each message: store it durably in the spool and commit its row and processing task
   (``spool.spool_index``), THEN mark it ``\\Seen`` or move it to ``move_to``; only then
   advance ``last_uid``. A message whose raw bytes this mailbox already stored (same
   sha256: a crash after the commit, a retry after a failure, a renumbered folder) is not
   stored again, only marked or moved.
5. One message that cannot be fetched, stored, marked or moved is logged and skipped; the
   rest of the batch goes on (on a new connection if the server hung up on that message).
   ``last_uid`` never passes it, so the next poll tries it again.
6. Record ``last_success_at`` or ``last_error``; a mailbox without a successful poll for
   ``ALERT_AFTER_INTERVALS`` intervals logs at ERROR, prefixes its error with ``ALERT:`` and
   shows in /healthz. Set ``next_poll_at`` for the scheduler (frontdesk/schedules.py).

The password is used for LOGIN and nowhere else: every error text is scrubbed of it before
it is logged, stored or returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.imapclient import SEEN

from frontdesk.core.errors import InvalidInput

from . import spool
from .models import InboundMessage, Inbox, Mailbox

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
BATCH_MESSAGES = 50
BATCH_BYTES = 16 * 1024 * 1024  # bodies held in memory at once (a single bigger message still comes alone)
ALERT_AFTER_INTERVALS = 5
MAX_REOPEN = 10  # connections reopened in one poll after the server hung up on a message
# While a poll runs its mailbox is not due: the scheduler does not start a second poll, and
# if the process dies mid-poll the mailbox is due again when the lease ends.
POLL_LEASE = timedelta(minutes=10)
MIN_INTERVAL_SECONDS = 10
ALERT_PREFIX = "ALERT: "
BODY_PEEK = b"BODY.PEEK[]"  # fetching BODY[] or RFC822 would set \Seen before we stored the message


@dataclass
class PollReport:
    """What one poll did. Holds no credentials."""

    mailbox_id: int
    stored: int = 0  # new inbound messages
    already_stored: int = 0  # fetched again but stored before (same bytes): only marked or moved
    vanished: int = 0  # expunged by someone else between search and fetch
    failed: dict[int, str] = field(default_factory=dict)  # uid → error, retried next poll
    uidvalidity_changed: bool = False
    error: str = ""  # the poll itself failed (connection, TLS, login, folder)
    alert: bool = False
    skipped: str = ""  # why nothing was attempted (a disabled mailbox)

    @property
    def ok(self) -> bool:
        return not (self.error or self.failed or self.skipped)

    def __str__(self) -> str:
        if self.skipped:
            return f"mailbox {self.mailbox_id}: not polled ({self.skipped})"
        if self.error:
            return f"mailbox {self.mailbox_id}: {'ALERT ' if self.alert else ''}failed: {self.error}"
        text = f"mailbox {self.mailbox_id}: {self.stored} new"
        if self.already_stored:
            text += f", {self.already_stored} already stored"
        if self.uidvalidity_changed:
            text += ", UIDVALIDITY changed (folder read again)"
        if self.failed:
            uids = ", ".join(str(uid) for uid in self.failed)
            text += f", {len(self.failed)} failed (uid {uids}; retried next poll)"
        return text


# --- Services ---------------------------------------------------------------------------


def mailbox_create(
    *, inbox: Inbox, host: str, username: str, password: str, port: int | None = None, starttls: bool = False,
    folder: str = "INBOX", move_to: str = "", interval_seconds: int = 60,
) -> Mailbox:
    """Add an enabled mailbox, due for its first poll now."""
    host, username, folder, move_to = host.strip(), username.strip(), folder.strip(), move_to.strip()
    port = port or (143 if starttls else 993)
    if not host or not username or not password or not folder:
        raise InvalidInput("A mailbox needs a host, a username, a password and a folder.")
    if not 0 < port < 65536:
        raise InvalidInput(f"Port {port} is not a TCP port.")
    if interval_seconds < MIN_INTERVAL_SECONDS:
        raise InvalidInput(f"Poll at most every {MIN_INTERVAL_SECONDS} seconds.")
    if move_to == folder:
        raise InvalidInput("move_to must differ from the polled folder.")
    return Mailbox.objects.create(
        inbox=inbox, host=host, port=port, use_ssl=not starttls, username=username, password=password,
        folder=folder, move_to=move_to, poll_interval_seconds=interval_seconds, enabled=True,
        next_poll_at=timezone.now(),
    )


def mailbox_reschedule(*, mailbox_id: int) -> None:
    """After an edit: an enabled mailbox is polled now (new settings are tried at once), a
    disabled one is no longer due."""
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox_id, enabled=True).update(next_poll_at=now)
    Mailbox.objects.filter(pk=mailbox_id, enabled=False).update(next_poll_at=None)


def mailbox_poll(*, mailbox_id: int) -> PollReport:
    """Poll one mailbox once (see the module docstring) and set its next due time.

    Never raises for what the mail server or a message does: that is in the report and in
    ``last_error``. Database errors propagate (the task is retried). Must be called outside a
    transaction: each message is committed before the server is told it may forget it.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("mailbox_poll commits each message itself; call it outside a transaction")
    mailbox = Mailbox.objects.select_related("inbox").filter(pk=mailbox_id).first()
    report = PollReport(mailbox_id=mailbox_id)
    if mailbox is None:
        report.skipped = "deleted"
        return report
    if not mailbox.enabled:
        Mailbox.objects.filter(pk=mailbox.pk, enabled=False).update(next_poll_at=None)
        report.skipped = "disabled"
        return report
    _lease(mailbox)
    session = _Session(mailbox)
    try:
        _fetch_new(session, mailbox, report)
    except DatabaseError:
        raise
    except Exception as exc:
        report.error = _describe(exc, mailbox.password)
    finally:
        session.close()
    _record(mailbox, report)
    return report


# --- Selectors --------------------------------------------------------------------------


def mailbox_is_alerting(mailbox: Mailbox, *, now: datetime | None = None) -> bool:
    """Enabled, and no successful poll for ``ALERT_AFTER_INTERVALS`` intervals (counted
    from its creation if it never had one): the poll fails, or nobody polls it."""
    now = now or timezone.now()
    since = mailbox.last_success_at or mailbox.created_at
    interval = timedelta(seconds=mailbox.poll_interval_seconds)
    return mailbox.enabled and now - since >= ALERT_AFTER_INTERVALS * interval


def imap_health() -> dict:
    """For /healthz (public): counts and ids only, never hosts, users or error texts.
    An alert does not fail the health check: the web server is fine, a mailbox is not."""
    mailboxes = list(Mailbox.objects.filter(enabled=True).only(
        "id", "enabled", "last_success_at", "created_at", "poll_interval_seconds"
    ))
    if not mailboxes:
        return {"status": "not_configured"}
    now = timezone.now()
    alerts = [mailbox.pk for mailbox in mailboxes if mailbox_is_alerting(mailbox, now=now)]
    return {"status": "alert" if alerts else "ok", "mailboxes": len(mailboxes), "alerts": alerts}


# --- The poll ---------------------------------------------------------------------------


def tls_context() -> ssl.SSLContext:
    """Certificate and host name verified (OTRS CVE-2023-5422 was a poller that did not)."""
    context = ssl.create_default_context()
    if settings.FRONTDESK_IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.FRONTDESK_IMAP_CA_FILE)
    return context


def _connect(mailbox: Mailbox) -> IMAPClient:
    context = tls_context()
    if mailbox.use_ssl:
        return IMAPClient(mailbox.host, port=mailbox.port, ssl=True, ssl_context=context, timeout=TIMEOUT_SECONDS)
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=False, timeout=TIMEOUT_SECONDS)
    try:
        # Raises when the server offers no STARTTLS or the certificate does not verify: we
        # never fall back to a plaintext login.
        client.starttls(context)
    except BaseException:
        with contextlib.suppress(Exception):  # a failed handshake may have closed it already
            client.shutdown()
        raise
    return client


class _Session:
    """The IMAP connection of one poll, logged in, the folder selected. Servers hang up on a
    client whose FETCH hits a message they cannot read (Dovecot's default
    ``imap_fetch_failure = disconnect-immediately``): ``reopen`` connects again, so that the
    message fails alone and the poll goes on."""

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.client: IMAPClient | None = None
        self.uidvalidity: int | None = None
        self.reopened = 0

    def open(self) -> dict:
        self.client = _connect(self.mailbox)
        self.client.login(self.mailbox.username, self.mailbox.password)
        status = self.client.select_folder(self.mailbox.folder)
        self.uidvalidity = self.uidvalidity or int(status[b"UIDVALIDITY"])
        if int(status[b"UIDVALIDITY"]) != self.uidvalidity:
            raise imaplib.IMAP4.error("UIDVALIDITY changed during the poll")
        return status

    def reopen(self) -> None:
        self.close()
        self.reopened += 1
        if self.reopened > MAX_REOPEN:
            raise imaplib.IMAP4.error(f"the server closed the connection {self.reopened} times in one poll")
        self.open()

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.logout()
            with contextlib.suppress(Exception):
                self.client.shutdown()
            self.client = None


def _fetch_new(session: _Session, mailbox: Mailbox, report: PollReport) -> None:
    status = session.open()
    client = session.client
    assert client is not None and session.uidvalidity is not None
    uidvalidity = session.uidvalidity
    last_uid = mailbox.last_uid
    if mailbox.uidvalidity is None:
        last_uid = _first_poll_start(client, status)
    elif mailbox.uidvalidity != uidvalidity:
        logger.warning(
            "imap %s: UIDVALIDITY of %s changed (%s → %s): reading the folder again, skipping mail already stored",
            mailbox.pk, mailbox.folder, mailbox.uidvalidity, uidvalidity,
        )
        report.uidvalidity_changed = True
        last_uid = 0
    if (mailbox.uidvalidity, mailbox.last_uid) != (uidvalidity, last_uid):
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=last_uid)
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, last_uid
    # "N:*" always matches the last message, even when its UID is below N.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    blocked = False  # a message failed: last_uid stays below it until a poll gets it
    for start in range(0, len(uids), BATCH_MESSAGES):
        for group in _by_size(session, uids[start:start + BATCH_MESSAGES]):
            bodies = _fetch_bodies(session, group)
            for uid in group:
                assert session.client is not None
                if _take(session.client, mailbox, report, uid, bodies.get(uid)) and not blocked:
                    Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)
                else:
                    blocked = blocked or uid in report.failed
        _lease(mailbox)


def _first_poll_start(client: IMAPClient, status: dict) -> int:
    """The UID after which a new mailbox's mail counts as new: just before the oldest unread
    message, or after the last message when all are read."""
    unseen = client.search(["UNSEEN"])
    if unseen:
        return min(unseen) - 1
    if b"UIDNEXT" in status:
        return int(status[b"UIDNEXT"]) - 1
    return max(client.search(["ALL"]), default=0)


def _by_size(session: _Session, uids: list[int]) -> list[list[int]]:
    """Split a batch so that the bodies fetched at once stay within ``BATCH_BYTES``."""
    assert session.client is not None
    try:
        sizes = session.client.fetch(uids, [b"RFC822.SIZE"])
    except (imaplib.IMAP4.error, OSError) as exc:
        if _dropped(exc):
            session.reopen()
        return [[uid] for uid in uids]  # a message the server cannot size: one at a time, it fails alone
    groups: list[list[int]] = [[]]
    total = 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if groups[-1] and total + size > BATCH_BYTES:
            groups.append([])
            total = 0
        groups[-1].append(uid)
        total += size
    return [group for group in groups if group]


def _fetch_bodies(session: _Session, uids: list[int]) -> dict[int, bytes | Exception]:
    """Raw bytes by UID; a UID missing from the answer was expunged meanwhile. When the server
    refuses the batch or hangs up on it, each message is fetched alone (on a new connection if
    needed) so that one bad message fails alone. A server that cannot be reached again ends the
    poll (``reopen`` raises)."""
    assert session.client is not None
    try:
        response = session.client.fetch(uids, [BODY_PEEK])
    except (imaplib.IMAP4.error, OSError) as exc:
        if _dropped(exc):
            session.reopen()
        if len(uids) == 1:
            return {uids[0]: exc}
        bodies: dict[int, bytes | Exception] = {}
        for uid in uids:
            bodies.update(_fetch_bodies(session, [uid]))
        return bodies
    wanted = set(uids)  # unsolicited FETCH responses (flag changes) may come along
    return {
        uid: bytes(data[b"BODY[]"]) for uid, data in response.items()
        if uid in wanted and isinstance(data.get(b"BODY[]"), bytes | bytearray)
    }


def _dropped(exc: BaseException) -> bool:
    """The connection is gone (rather than one command refused)."""
    return isinstance(exc, imaplib.IMAP4.abort | OSError)


def _take(client: IMAPClient, mailbox: Mailbox, report: PollReport, uid: int, body: bytes | Exception | None) -> bool:
    """Store one message, then mark or move it. True when it is done with (or gone)."""
    if body is None:
        report.vanished += 1
        return True
    if isinstance(body, Exception):
        return _failed(mailbox, report, uid, "fetching", body)
    try:
        new = _store(mailbox, body)
    except Exception as exc:  # disk full, a database error: this message waits for the next poll
        return _failed(mailbox, report, uid, "storing", exc)
    try:
        _done(client, mailbox, uid)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        # Stored and committed, but still unread or unmoved on the server: the next poll
        # fetches it again, recognises it and retries this step.
        return _failed(mailbox, report, uid, "marking seen" if not mailbox.move_to else "moving", exc)
    if new:
        report.stored += 1
    else:
        report.already_stored += 1
    return True


def _store(mailbox: Mailbox, raw: bytes) -> bool:
    """Spool the bytes durably and commit the row and its task (``spool.spool_index``).
    False when this mailbox already stored exactly these bytes."""
    if InboundMessage.objects.filter(mailbox_id=mailbox.pk, sha256=hashlib.sha256(raw).hexdigest()).exists():
        return False
    envelope = spool.Envelope(
        rcpt_tos=(mailbox.inbox.address,), peer=mailbox.host[:100], tls=True, source="imap", mailbox_id=mailbox.pk,
    )
    with spool.SpoolWriter(source="imap") as writer:
        view = memoryview(raw)
        for offset in range(0, len(view), spool.CHUNK_BYTES):
            writer.write(view[offset:offset + spool.CHUNK_BYTES])
            writer.flush()
        spooled = writer.commit(envelope=envelope)
    inbound = spool.spool_index(spooled=spooled)
    logger.info("imap %s: stored inbound %s (%d bytes)", mailbox.pk, inbound.pk, spooled.size)
    return True


def _done(client: IMAPClient, mailbox: Mailbox, uid: int) -> None:
    """Only for a message whose row is committed."""
    client.add_flags([uid], [SEEN], silent=True)
    if not mailbox.move_to:
        return
    if client.has_capability("MOVE"):
        client.move([uid], mailbox.move_to)
        return
    client.copy([uid], mailbox.move_to)
    client.delete_messages([uid], silent=True)
    # Without UIDPLUS only a plain EXPUNGE exists, which would also remove mail that someone
    # else marked deleted: leave the message marked \Deleted instead.
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])


def _failed(mailbox: Mailbox, report: PollReport, uid: int, step: str, exc: BaseException) -> bool:
    text = f"{step}: {_describe(exc, mailbox.password)}"
    report.failed[uid] = text
    logger.error("imap %s: message uid %s skipped, retried next poll (%s)", mailbox.pk, uid, text)
    return False


def _lease(mailbox: Mailbox) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(next_poll_at=timezone.now() + POLL_LEASE)


def _record(mailbox: Mailbox, report: PollReport) -> None:
    now = timezone.now()
    fields: dict = {"next_poll_at": now + timedelta(seconds=mailbox.poll_interval_seconds)}
    if report.ok:
        fields.update(last_success_at=now, last_error="")
        if report.stored or report.failed:
            logger.info("imap %s: %s", mailbox.pk, report)
    else:
        text = report.error or "; ".join(f"uid {uid}: {error}" for uid, error in report.failed.items())
        report.alert = mailbox_is_alerting(mailbox, now=now)
        if report.alert:
            since = mailbox.last_success_at or mailbox.created_at
            text = f"{ALERT_PREFIX}no successful fetch since {since:%Y-%m-%d %H:%M} UTC: {text}"
            logger.error("imap %s (%s): %s", mailbox.pk, mailbox, text)
        else:
            logger.warning("imap %s (%s): %s", mailbox.pk, mailbox, text)
        fields["last_error"] = text[:500]
    Mailbox.objects.filter(pk=mailbox.pk).update(**fields)


def _describe(exc: BaseException, password: str) -> str:
    return scrub(f"{exc.__class__.__name__}: {exc}", password)


def scrub(text: str, secret: str) -> str:
    """``text`` without ``secret`` in any form an error message may quote it in."""
    if not secret:
        return text
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "replace"))[2:-1],
        secret.replace("\\", "\\\\").replace('"', '\\"'),  # IMAP quoted string
    }
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "********")
    return text
