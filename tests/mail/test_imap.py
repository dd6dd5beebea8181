"""IMAP polling against a real Dovecot on localhost (RELIABILITY.md §2.1).

Each test starts its own Dovecot (not the system service): a config in a temporary folder,
127.0.0.1 on free ports, one passwd-file user, maildir storage, ``ssl = required`` with a
self-signed certificate made here and trusted through ``FRONTDESK_IMAP_CA_FILE``. Mail is put
in with APPEND; a second IMAP session observes flags while the poller works.

Without Dovecot (Debian: ``apt-get install -y dovecot-imapd``) the module is skipped.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
if DOVECOT is None:
    pytest.skip("Dovecot is not installed (Debian: apt-get install -y dovecot-imapd)", allow_module_level=True)
try:
    import cryptography  # noqa: F401

    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False
if not HAVE_CRYPTOGRAPHY and shutil.which("openssl") is None:
    pytest.skip("neither the cryptography package nor the openssl command to make a certificate",
                allow_module_level=True)

from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402
from imapclient import IMAPClient  # noqa: E402
from imapclient.exceptions import LoginError  # noqa: E402
from imapclient.imapclient import SEEN  # noqa: E402

from frontdesk import cli  # noqa: E402
from frontdesk.core.clock import clock_tick  # noqa: E402
from frontdesk.mail import spool  # noqa: E402
from frontdesk.mail.imap import PollReport, mailbox_create, mailbox_poll, mailbox_reschedule, scrub  # noqa: E402
from frontdesk.mail.models import InboundMessage, InboundStatus, Inbox, Mailbox, spool_dir  # noqa: E402
from tests.conftest import run_tasks  # noqa: E402

USER = "help@example.com"
PASSWORD = "Corr3ct-h0rse \"battery\" st\\aple"  # a quote and a backslash: IMAP quoting must not leak it


def message(n: int, subject: str | None = None) -> bytes:
    return (
        f"From: Maria Lopez <maria{n}@example.net>\r\n"
        f"To: {USER}\r\n"
        f"Subject: {subject or f'Question {n}'}\r\n"
        f"Message-ID: <q{n}.{time.monotonic_ns()}@example.net>\r\n"
        "\r\n"
        f"Question number {n}.\r\n"
    ).encode()


# --- A Dovecot of our own ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that is its own CA."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if HAVE_CRYPTOGRAPHY:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(private.public_key()), critical=False)
            .sign(private, hashes.SHA256())
        )
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    else:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-addext", "basicConstraints=critical,CA:TRUE"],
            check=True, capture_output=True, timeout=60,
        )
    key.chmod(0o600)
    return cert, key


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def dovecot_users() -> tuple[str, str, pwd.struct_passwd, str]:
    """(internal user, login user, mail user, extra config). Dovecot refuses root for the
    login processes and for mail; run as someone else it can only be that user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        # Unprivileged: no chroot, every process as ourselves.
        extra = "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
        return me.pw_name, me.pw_name, me, extra
    names = {entry.pw_name for entry in pwd.getpwall()}
    login = "dovenull" if "dovenull" in names else "nobody"
    return "root", login, pwd.getpwnam("nobody"), ""


@dataclass
class Dovecot:
    port: int  # implicit TLS
    starttls_port: int
    ca_file: Path
    log: Path
    maildir: Path

    def client(self, folder: str | None = None, *, readonly: bool = False) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context, timeout=10)
        client.login(USER, PASSWORD)
        if folder:
            client.select_folder(folder, readonly=readonly)
        return client

    def append(self, *raws: bytes, folder: str = "INBOX", flags: tuple = ()) -> None:
        with self.client() as client:
            for raw in raws:
                client.append(folder, raw, flags=flags)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        with self.client(folder, readonly=True) as client:
            uids = client.search("ALL")
            return {uid: set(data[b"FLAGS"]) for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}

    def create_folder(self, name: str) -> None:
        with self.client() as client:
            client.create_folder(name)

    def logins(self) -> int:
        return self.log.read_text(errors="replace").count("Login: user=")


@pytest.fixture
def dovecot(certificate):
    cert, key = certificate
    internal, login, mail_user, extra = dovecot_users()
    # Not under tmp_path: the mail processes run as another user and must reach the maildir,
    # and socket paths must stay short.
    root = Path(tempfile.mkdtemp(prefix="fd-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port, starttls_port = free_port(), free_port()
    log = root / "dovecot.log"
    conf = root / "dovecot.conf"
    conf.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {log}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
auth_mechanisms = plain
disable_plaintext_auth = yes
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
{extra}""")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                for p in (port, starttls_port):
                    socket.create_connection(("127.0.0.1", p), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                    pytest.fail(f"dovecot did not start: {output}\n{log.read_text() if log.exists() else ''}")
                time.sleep(0.05)
        yield Dovecot(port=port, starttls_port=starttls_port, ca_file=cert, log=log, maildir=root / "mail" / USER)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


# --- Frontdesk side ---------------------------------------------------------------------


@pytest.fixture
def home(settings, tmp_path, dovecot):
    settings.FRONTDESK_HOME = tmp_path / "home"
    settings.FRONTDESK_HOME.mkdir()
    settings.FRONTDESK_IMAP_CA_FILE = str(dovecot.ca_file)
    return settings.FRONTDESK_HOME


@pytest.fixture
def inbox(home):
    return Inbox.objects.create(name="Support", address="help@example.com")


@pytest.fixture
def make_mailbox(inbox, dovecot):
    def make(**overrides) -> Mailbox:
        options = {"inbox": inbox, "host": "127.0.0.1", "port": dovecot.port, "username": USER, "password": PASSWORD}
        return mailbox_create(**{**options, **overrides})

    return make


def poll(mailbox: Mailbox) -> PollReport:
    report = mailbox_poll(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    return report


def ready_processing_tasks() -> int:
    """Messages waiting in processing tasks (a message stored while a task still waits joins it)."""
    return sum(len(task.args_kwargs["kwargs"]["inbound_ids"]) for task in
               DBTaskResult.objects.filter(status="READY", task_path__endswith="process_inbound"))


def subjects() -> list[str]:
    return sorted(
        (spool_dir() / row.spool_name).read_bytes().split(b"Subject: ")[1].split(b"\r\n")[0].decode()
        for row in InboundMessage.objects.all()
    )


# --- Tests ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_stores_new_mail_once_and_marks_it_seen_only_after_the_row_is_committed(
    dovecot, make_mailbox, inbox, monkeypatch
):
    dovecot.append(message(1), message(2), message(3))
    mailbox = make_mailbox()
    seen_when_committed = []
    real_index = spool.spool_index

    def index_and_look(*, spooled):
        inbound = real_index(spooled=spooled)
        assert InboundMessage.objects.filter(pk=inbound.pk).exists()
        seen_when_committed.append(sum(SEEN in flags for flags in dovecot.flags().values()))
        return inbound

    monkeypatch.setattr(spool, "spool_index", index_and_look)

    report = poll(mailbox)

    assert (report.ok, report.stored, report.failed) == (True, 3, {})
    assert seen_when_committed == [0, 1, 2]  # each row existed before its message was marked
    assert all(SEEN in flags for flags in dovecot.flags().values())
    rows = list(InboundMessage.objects.order_by("id"))
    assert len(rows) == 3 and ready_processing_tasks() == 3
    assert {(row.source, row.mailbox_id, tuple(row.envelope_to), row.tls) for row in rows} == {
        ("imap", mailbox.pk, ("help@example.com",), True)
    }
    assert subjects() == ["Question 1", "Question 2", "Question 3"]
    assert mailbox.last_uid == 3 and mailbox.uidvalidity and mailbox.last_error == ""
    assert mailbox.last_success_at is not None
    assert timedelta(seconds=55) < mailbox.next_poll_at - timezone.now() <= timedelta(seconds=60)

    run_tasks()
    assert set(InboundMessage.objects.values_list("status", "inbox_id")) == {(InboundStatus.PROCESSED, inbox.pk)}


@pytest.mark.django_db(transaction=True)
def test_it_fetches_nothing_new_on_the_second_poll(dovecot, make_mailbox):
    dovecot.append(message(1), message(2))
    mailbox = make_mailbox()
    assert poll(mailbox).stored == 2

    report = poll(mailbox)

    assert (report.ok, report.stored, report.already_stored) == (True, 0, 0)
    assert InboundMessage.objects.count() == 2 and ready_processing_tasks() == 2

    dovecot.append(message(3))
    assert poll(mailbox).stored == 1 and subjects() == ["Question 1", "Question 2", "Question 3"]
    assert mailbox.last_uid == 3


@pytest.mark.django_db(transaction=True)
def test_it_moves_stored_mail_to_move_to(dovecot, make_mailbox):
    dovecot.create_folder("Processed")
    dovecot.append(message(1), message(2))
    mailbox = make_mailbox(move_to="Processed")

    report = poll(mailbox)

    assert (report.ok, report.stored) == (True, 2)
    assert dovecot.flags("INBOX") == {}  # moved, expunged from INBOX after the commit
    assert [SEEN in flags for flags in dovecot.flags("Processed").values()] == [True, True]
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_reports_a_missing_move_to_folder_and_stores_nothing_twice(dovecot, make_mailbox):
    dovecot.append(message(1))
    mailbox = make_mailbox(move_to="Nonexistent")

    first, second = poll(mailbox), poll(mailbox)

    assert list(first.failed) == [1] and "moving" in first.failed[1]
    assert (second.stored, second.already_stored, list(second.failed)) == (0, 0, [1])
    assert InboundMessage.objects.count() == 1  # stored once; the move is retried every poll
    assert mailbox.last_uid == 0 and "uid 1: moving" in mailbox.last_error
    assert list(dovecot.flags("INBOX")) == [1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("move_to", ["", "Processed"])
def test_it_skips_a_message_that_fails_to_store_and_retries_it_next_poll(dovecot, make_mailbox, monkeypatch, move_to):
    dovecot.create_folder("Processed")
    dovecot.append(message(1), message(2, subject="poison"), message(3))
    mailbox = make_mailbox(move_to=move_to)
    real_write = spool.SpoolWriter.write

    def write(self, data):
        if b"Subject: poison" in bytes(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    with monkeypatch.context() as patch:
        patch.setattr(spool.SpoolWriter, "write", write)
        report = poll(mailbox)

    assert (report.stored, list(report.failed)) == (2, [2])  # the batch went on after the failure
    assert "storing: OSError" in report.failed[2] and "uid 2: storing" in mailbox.last_error
    assert subjects() == ["Question 1", "Question 3"] and ready_processing_tasks() == 2
    assert mailbox.last_uid == 1  # never past the failed message
    assert mailbox.last_success_at is None
    inbox_flags = dovecot.flags("INBOX")
    if move_to:
        assert list(inbox_flags) == [2] and len(dovecot.flags("Processed")) == 2
    else:
        assert [SEEN in inbox_flags[uid] for uid in (1, 2, 3)] == [True, False, True]
    assert SEEN not in inbox_flags[2]
    assert list((spool_dir() / "tmp").iterdir()) == []

    report = poll(mailbox)  # the disk has room again

    assert (report.ok, report.stored) == (True, 1)
    assert report.already_stored == (0 if move_to else 1)  # message 3 fetched again, not stored again
    assert subjects() == ["Question 1", "Question 3", "poison"] and ready_processing_tasks() == 3
    assert mailbox.last_error == "" and mailbox.last_success_at is not None
    assert mailbox.last_uid == (2 if move_to else 3)  # the highest UID it handled (3 had moved away)
    if move_to:
        assert dovecot.flags("INBOX") == {} and len(dovecot.flags("Processed")) == 3
    else:
        assert all(SEEN in flags for flags in dovecot.flags().values())


@pytest.mark.django_db(transaction=True)
def test_it_skips_a_message_the_server_cannot_read_and_fetches_the_others(dovecot, make_mailbox):
    dovecot.append(message(1), message(2), message(3))
    broken = next(path for path in dovecot.maildir.glob("*/*") if b"Subject: Question 2" in path.read_bytes())
    broken.chmod(0)  # the server fails to read this one message
    mailbox = make_mailbox()

    report = poll(mailbox)

    assert (report.stored, list(report.failed)) == (2, [2]) and "fetching" in report.failed[2]
    assert subjects() == ["Question 1", "Question 3"] and mailbox.last_uid == 1
    # Dovecot may have moved the file from new/ to cur/ meanwhile.
    next(path for path in dovecot.maildir.glob("*/*") if path.stat().st_mode & 0o777 == 0).chmod(0o600)
    assert poll(mailbox).stored == 1 and mailbox.last_uid == 3 and mailbox.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_it_reads_a_renumbered_folder_again_without_storing_twice(dovecot, make_mailbox):
    dovecot.create_folder("Support")
    first, second, third = message(1), message(2), message(3)
    dovecot.append(first, second, third, folder="Support")
    mailbox = make_mailbox(folder="Support")
    assert poll(mailbox).stored == 3
    old_uidvalidity = mailbox.uidvalidity
    # The server renumbers the folder (restored from a backup, migrated): new UIDVALIDITY, UIDs
    # from 1 again. The new message gets UID 2, below last_uid (3).
    with dovecot.client() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    dovecot.append(first, message(4), folder="Support")

    report = poll(mailbox)

    assert mailbox.uidvalidity != old_uidvalidity and report.uidvalidity_changed
    assert (report.ok, report.stored, report.already_stored) == (True, 1, 1)
    assert subjects() == ["Question 1", "Question 2", "Question 3", "Question 4"]
    assert mailbox.last_uid == 2
    assert all(SEEN in flags for flags in dovecot.flags("Support").values())
    assert poll(mailbox).stored == 0


@pytest.mark.django_db(transaction=True)
def test_it_leaves_mail_read_before_the_first_poll_alone(dovecot, make_mailbox):
    dovecot.append(message(1), message(2), flags=(SEEN,))
    dovecot.append(message(3))

    report = poll(make_mailbox())

    assert report.stored == 1 and subjects() == ["Question 3"]


@pytest.mark.django_db(transaction=True)
def test_it_polls_over_starttls(dovecot, make_mailbox):
    dovecot.append(message(1))

    report = poll(make_mailbox(port=dovecot.starttls_port, starttls=True))

    assert (report.ok, report.stored) == (True, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("starttls", [False, True])
def test_it_refuses_an_untrusted_certificate_without_falling_back_to_plaintext(
    dovecot, make_mailbox, settings, starttls
):
    settings.FRONTDESK_IMAP_CA_FILE = ""  # the system's CAs only: our self-signed certificate is not among them
    dovecot.append(message(1))
    logins = dovecot.logins()
    mailbox = make_mailbox(port=dovecot.starttls_port if starttls else dovecot.port, starttls=starttls)

    report = poll(mailbox)

    assert not report.ok and "CERTIFICATE_VERIFY_FAILED" in report.error
    assert "CERTIFICATE_VERIFY_FAILED" in mailbox.last_error
    assert dovecot.logins() == logins  # the password was never sent
    assert InboundMessage.objects.count() == 0
    assert SEEN not in dovecot.flags()[1]


@pytest.mark.django_db(transaction=True)
def test_it_records_a_wrong_password_without_revealing_it(dovecot, make_mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Wr0ng-Secret-4711"
    dovecot.append(message(1))
    mailbox = make_mailbox(password=secret)

    report = poll(mailbox)

    assert not report.ok and "LoginError" in report.error and "AUTHENTICATIONFAILED" in mailbox.last_error
    assert "LOGIN **REDACTED**" in caplog.text  # imapclient's protocol log was captured, redacted
    assert mailbox.last_success_at is None and InboundMessage.objects.count() == 0
    for text in (mailbox.last_error, caplog.text, str(report), repr(report), repr(mailbox), str(mailbox)):
        assert secret not in text


@pytest.mark.django_db(transaction=True)
def test_it_scrubs_the_password_from_any_error_text(dovecot, make_mailbox, monkeypatch, caplog):
    def login(self, username, password):
        quoted = password.replace("\\", "\\\\").replace('"', '\\"')
        raise LoginError(f"server said: LOGIN {username} \"{quoted}\" {password!r} {password} refused")

    monkeypatch.setattr(IMAPClient, "login", login)
    mailbox = make_mailbox()

    report = poll(mailbox)

    assert "server said: LOGIN help@example.com" in mailbox.last_error and "********" in mailbox.last_error
    for text in (mailbox.last_error, report.error, caplog.text):
        assert PASSWORD not in text and "Corr3ct" not in text
    assert scrub("x s3cret y", "s3cret") == "x ******** y" and scrub("x", "") == "x"


@pytest.mark.django_db(transaction=True)
def test_it_alerts_when_a_mailbox_has_not_fetched_for_five_intervals(dovecot, make_mailbox, caplog, settings):
    settings.FRONTDESK_IMAP_CA_FILE = ""  # fails fast (a wrong password is answered after Dovecot's delay)
    mailbox = make_mailbox()
    assert Client().get("/healthz").json()["imap"] == {"status": "ok", "mailboxes": 1, "alerts": []}

    report = poll(mailbox)  # failing, but not for long yet
    assert not report.alert and mailbox.last_error and not mailbox.last_error.startswith("ALERT:")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    Mailbox.objects.filter(pk=mailbox.pk).update(created_at=timezone.now() - timedelta(seconds=5 * 60 + 1))
    report = poll(mailbox)

    assert report.alert and mailbox.last_error.startswith("ALERT: no successful fetch since")
    assert [r.levelname for r in caplog.records if "ALERT" in r.getMessage()] == ["ERROR"]
    response = Client().get("/healthz")
    assert response.status_code == 200  # a mailbox is down, the web server is not
    assert response.json()["imap"] == {"status": "alert", "mailboxes": 1, "alerts": [mailbox.pk]}

    settings.FRONTDESK_IMAP_CA_FILE = str(dovecot.ca_file)
    assert poll(mailbox).ok and mailbox.last_error == ""
    assert Client().get("/healthz").json()["imap"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_claims_a_due_mailbox_once_and_the_task_polls_it(dovecot, make_mailbox):
    dovecot.append(message(1), message(2))
    mailbox = make_mailbox()  # due now

    assert clock_tick() == 1
    assert clock_tick() == 0  # claimed: a second scheduler finds nothing
    run_tasks()

    mailbox.refresh_from_db()
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 2
    assert mailbox.next_poll_at > timezone.now() and clock_tick() == 0  # the next round is scheduled
    dovecot.append(message(3))
    assert clock_tick(now=mailbox.next_poll_at) == 1
    run_tasks()
    assert InboundMessage.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_disabled_mailbox_is_not_polled(dovecot, make_mailbox):
    dovecot.append(message(1))
    mailbox = make_mailbox()
    Mailbox.objects.filter(pk=mailbox.pk).update(enabled=False)

    assert clock_tick() == 1  # was due before it was disabled
    run_tasks()

    mailbox.refresh_from_db()
    assert InboundMessage.objects.count() == 0 and mailbox.next_poll_at is None and mailbox.last_uid == 0
    assert SEEN not in dovecot.flags()[1]
    assert poll(mailbox).skipped == "disabled"

    Mailbox.objects.filter(pk=mailbox.pk).update(enabled=True)
    mailbox_reschedule(mailbox_id=mailbox.pk)  # what the admin does on save: due now
    assert clock_tick() == 1
    run_tasks()
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_command_adds_lists_and_polls_mailboxes_without_printing_passwords(
    dovecot, inbox, monkeypatch, capsys, tmp_path
):
    dovecot.append(message(1))
    monkeypatch.setenv("FRONTDESK_IMAP_PASSWORD", PASSWORD)

    assert cli.main(["mailbox", "add", "--inbox", "HELP@example.com", "--host", "127.0.0.1",
                     "--port", str(dovecot.port), "--username", USER, "--move-to", "Processed"]) == 0
    mailbox = Mailbox.objects.get()
    assert (mailbox.password, mailbox.use_ssl, mailbox.move_to, mailbox.inbox) == (PASSWORD, True, "Processed", inbox)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    monkeypatch.delenv("FRONTDESK_IMAP_PASSWORD")
    assert cli.main(["mailbox", "add", "--inbox", "help@example.com", "--host", "127.0.0.1", "--starttls",
                     "--username", USER, "--password-file", str(password_file)]) == 0
    assert Mailbox.objects.get(port=143).password == PASSWORD
    Mailbox.objects.filter(port=143).delete()
    assert cli.main(["mailbox", "add", "--inbox", "nobody@example.com", "--host", "h", "--username", "u"]) == 2

    dovecot.create_folder("Processed")
    assert cli.main(["mailbox", "poll", "--id", str(mailbox.pk)]) == 0
    assert cli.main(["mailbox", "list"]) == 0

    out = capsys.readouterr()
    assert f"mailbox {mailbox.pk}: 1 new" in out.out
    listed = f"{mailbox.pk}\tenabled\thelp@example.com\t{USER}@127.0.0.1:{dovecot.port} (tls)\tINBOX → Processed"
    assert listed in out.out
    assert "no inbox with address nobody@example.com" in out.err
    assert "Corr3ct" not in out.out + out.err


@pytest.mark.django_db
def test_the_admin_schedules_a_saved_mailbox_and_leaves_the_poll_state_alone():
    from frontdesk.accounts.services import agent_create

    agent_create(email="root@example.com", name="Root", role="admin", password="correct horse battery 9")
    inbox = Inbox.objects.create(name="Support", address="help@example.com")
    client = Client()
    assert client.login(email="root@example.com", password="correct horse battery 9")
    form = {"inbox": inbox.pk, "host": "imap.example.com", "port": 993, "use_ssl": "on", "username": USER,
            "password": PASSWORD, "folder": "INBOX", "move_to": "", "enabled": "on", "poll_interval_seconds": 60}

    assert client.post("/admin/mail/mailbox/add/", form).status_code == 302
    mailbox = Mailbox.objects.get()
    assert mailbox.password == PASSWORD and timezone.now() - mailbox.next_poll_at < timedelta(seconds=5)

    # Meanwhile a poll ran (and is running: claimed, so not due).
    Mailbox.objects.update(uidvalidity=42, last_uid=7, next_poll_at=None)
    assert client.post(f"/admin/mail/mailbox/{mailbox.pk}/change/", {**form, "password": ""}).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.uidvalidity, mailbox.last_uid, mailbox.password) == (42, 7, PASSWORD)
    assert mailbox.next_poll_at is not None  # never left without a due time

    del form["enabled"]
    assert client.post(f"/admin/mail/mailbox/{mailbox.pk}/change/", form).status_code == 302
    mailbox.refresh_from_db()
    assert not mailbox.enabled and mailbox.next_poll_at is None
