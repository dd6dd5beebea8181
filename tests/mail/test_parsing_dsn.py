"""Delivery reports: RFC 3464 DSNs and the prose bounces of older MTAs."""

from __future__ import annotations

from pathlib import Path

from frontdesk.mail.parsing import DeliveryRecipient, DeliveryReport, parse_message

FIXTURES = Path(__file__).parent / "fixtures"


def parse(name: str):
    return parse_message((FIXTURES / name).read_bytes())


def dsn(status_fields: str, *, returned: str = "") -> bytes:
    returned_part = f"--B\nContent-Type: text/rfc822-headers\n\n{returned}\n" if returned else ""
    return (
        "From: MAILER-DAEMON@mx.example.net\nSubject: Returned mail\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nSee below.\n"
        f"--B\nContent-Type: message/delivery-status\n\n{status_fields}\n"
        f"{returned_part}--B--\n"
    ).encode()


def test_it_reads_a_postfix_dsn_for_a_failed_recipient():
    mail = parse("postfix_dsn_failed.eml")

    assert mail.delivery_report == DeliveryReport(
        recipients=[
            DeliveryRecipient(
                final_recipient="old.customer@example.net",
                action="failed",
                status="5.1.1",
                diagnostic="550 5.1.1 <old.customer@example.net>: Recipient address rejected: "
                "User unknown in virtual mailbox table",
            )
        ],
        original_message_id="out-1f4.3a9c2e71@acme.example",
        permanent=True,
    )
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("delivery-status.txt", "message/delivery-status"),
        ("[#ACM-1120] We received your request.eml", "message/rfc822"),
    ]
    assert "Hello, we have received your message" not in mail.text  # the returned message stays attached
    assert mail.from_address == "mailer-daemon@mx.acme.example"


def test_it_reads_a_postfix_dsn_for_a_delayed_recipient():
    mail = parse("postfix_dsn_delayed.eml")

    assert mail.delivery_report == DeliveryReport(
        recipients=[
            DeliveryRecipient(
                final_recipient="buyer@slowmail.example",
                action="delayed",
                status="4.4.1",
                diagnostic="connect to mx.slowmail.example[198.51.100.80]:25: Connection timed out",
            )
        ],
        original_message_id="out-2a7.77e0b1c4@acme.example",  # from the text/rfc822-headers part
        permanent=False,
    )


def test_it_reads_a_qmail_bounce():
    report = parse("qmail_bounce.eml").delivery_report

    assert report == DeliveryReport(
        recipients=[
            DeliveryRecipient(
                final_recipient="j.doe@oldhost.example",
                action="failed",
                status="5.1.1",
                diagnostic="Sorry, no mailbox here by that name. (#5.1.1)",
            )
        ],
        original_message_id="out-3b9.0c1d2e3f@acme.example",
        permanent=True,
    )


def test_it_reads_an_exim_bounce():
    report = parse("exim_bounce.eml").delivery_report

    assert report == DeliveryReport(
        recipients=[
            DeliveryRecipient(
                final_recipient="info@closed-shop.example",
                action="failed",
                status="5.2.1",
                diagnostic="550 5.2.1 The email account that you tried to reach is disabled.",
            )
        ],
        original_message_id="out-4c1.9e8d7c6b@acme.example",
        permanent=True,
    )


def test_it_splits_recipients_that_share_one_block():
    raw = dsn(
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Original-Recipient: rfc822;a@example.org\nFinal-Recipient: rfc822;A@example.org\n"
        "Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\n"
        "Final-Recipient: rfc822; <b@example.org>\nAction: delivered\nStatus: 2.0.0\n",
        returned="Message-ID: <orig@acme.example>\nSubject: hi",
    )

    report = parse_message(raw).delivery_report

    assert report is not None and report.permanent
    assert report.original_message_id == "orig@acme.example"
    assert [(r.final_recipient, r.action, r.status, r.diagnostic) for r in report.recipients] == [
        ("a@example.org", "failed", "5.2.2", "552 5.2.2 Mailbox full"),
        ("b@example.org", "delivered", "2.0.0", ""),
    ]


def test_it_infers_missing_or_odd_actions_from_the_status():
    raw = dsn(
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; a@example.org\nAction: error\n\n"  # opensmtpd
        "Final-Recipient: rfc822; b@example.org\nStatus: 4.2.2\n\n"
        "Final-Recipient: rfc822; c@example.org\nDiagnostic-Code: smtp; 550 5.7.1 blocked\n\n"
        "Final-Recipient: rfc822; d@example.org\n"
    )

    report = parse_message(raw).delivery_report

    assert report is not None
    assert [(r.final_recipient, r.action, r.status) for r in report.recipients] == [
        ("a@example.org", "failed", "5.0.0"),
        ("b@example.org", "delayed", "4.2.2"),
        ("c@example.org", "failed", "5.7.1"),
        ("d@example.org", "delayed", "4.0.0"),  # unreadable: never a permanent failure
    ]


def test_it_reads_a_base64_encoded_delivery_status():
    raw = (
        b"From: postmaster@mx.example.net\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        b"UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm5ldAoKRmluYWwtUmVjaXBpZW50OiBy\n"
        b"ZmM4MjI7IHhAZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjEuMQo=\n"
        b"--B--\n"
    )

    report = parse_message(raw).delivery_report

    assert report is not None
    assert [(r.final_recipient, r.action, r.status) for r in report.recipients] == [
        ("x@example.org", "failed", "5.1.1")
    ]


def test_it_does_not_treat_a_forwarded_bounce_as_a_bounce():
    forwarded = (FIXTURES / "postfix_dsn_failed.eml").read_bytes()
    raw = (
        b"From: Customer <c@example.com>\nSubject: Fwd: my mail bounced\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="F"\n\n--F\nContent-Type: text/plain\n\n'
        b"Why did this bounce?\n--F\nContent-Type: message/rfc822\n\n" + forwarded + b"\n--F--\n"
    )

    mail = parse_message(raw)

    assert mail.delivery_report is None
    assert mail.text == "Why did this bounce?"


def test_it_does_not_read_a_customer_complaint_about_bounces_as_a_bounce():
    raw = (
        b"From: Customer <c@example.com>\nSubject: Undeliverable: my mail to you bounced\n\n"
        b"Hi. This is the qmail-send program at mail.example.com.\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        b"<support@acme.example>:\nSorry (#5.1.1)\n"
    )

    assert parse_message(raw).delivery_report is None


def test_it_reads_no_report_from_a_daemon_message_it_cannot_understand():
    raw = b"From: MAILER-DAEMON@mx.example.net\nSubject: Hello\n\nJust saying hi.\n"

    assert parse_message(raw).delivery_report is None
