"""Limits: hostile structure is cut off, named in ``defects``, and parsed in bounded time."""

from __future__ import annotations

import base64
import time

import pytest

from frontdesk.mail import parsing
from frontdesk.mail.parsing import MAX_MIME_DEPTH, MAX_PARTS, MAX_TEXT_CHARS, parse_message


def nested(depth: int, body: bytes = b"hello\n") -> bytes:
    raw = b"From: a@example.com\n"
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level)
    raw += b"Content-Type: text/plain\n\n" + body
    for level in reversed(range(depth)):
        raw += b"--b%d--\n" % level
    return raw


def parse_quickly(raw: bytes, seconds: float = 10.0):
    """Generous bounds: the quadratic cases these guard against took 20 s to 6 min."""
    started = time.monotonic()
    mail = parse_message(raw)
    assert time.monotonic() - started < seconds
    return mail


def test_it_reads_parts_down_to_the_depth_limit():
    assert parse_message(nested(MAX_MIME_DEPTH)).text == "hello"

    too_deep = parse_message(nested(MAX_MIME_DEPTH + 1))

    assert too_deep.text == "" and "mime_depth_limit" in too_deep.defects


def test_it_does_not_mime_parse_absurd_nesting():
    mail = parse_quickly(nested(3000, b"line\n" * 100_000))

    assert "mime_depth_limit" in mail.defects
    assert mail.from_address == "a@example.com"
    assert len(mail.text) <= MAX_TEXT_CHARS


def test_it_stops_at_the_part_limit_before_building_the_parts():
    raw = b'Content-Type: multipart/mixed; boundary="B"\n\n'
    raw += b"--B\nContent-Type: application/octet-stream\n\nx\n" * 50_000 + b"--B--\n"

    mail = parse_quickly(raw)

    assert len(mail.attachments) == MAX_PARTS - 1  # the multipart itself is the first part
    assert "part_count_limit" in mail.defects


def test_it_truncates_decoded_text_at_the_size_limit():
    raw = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
    raw += base64.encodebytes("é".encode() * (MAX_TEXT_CHARS + 10))

    mail = parse_quickly(raw)

    assert mail.text == "é" * MAX_TEXT_CHARS
    assert "decoded_size_limit" in mail.defects


def test_it_sanitizes_only_the_part_of_hostile_html_it_can_parse_quickly():
    raw = b"Content-Type: text/html\n\n<p>Start</p>" + b"<div>" * 150_000 + b"end"

    mail = parse_quickly(raw)

    assert mail.html is not None and mail.html.startswith("<p>Start</p><div>")
    assert "html_complexity_limit" in mail.defects


def test_it_leaves_ordinary_html_alone():
    html = "<table>" + "<tr><td><p><b>cell</b></td></tr>" * 20_000 + "</table>"

    assert parsing.html_within_budget(html) == len(html)


def test_it_caps_the_number_of_headers_it_reports():
    mail = parse_quickly(b"Received: from x by y\n" * 5000 + b"Subject: s\n\nhi\n")

    assert len(mail.headers["received"]) == parsing.MAX_HEADERS
    assert "header_count_limit" in mail.defects


def test_it_keeps_the_first_and_latest_references():
    ids = b" ".join(b"<r%d@h>" % n for n in range(1000))

    mail = parse_message(b"References: " + ids + b"\n\nhi\n")

    assert len(mail.references) == parsing.MAX_REFERENCES
    assert mail.references[:2] == ["r0@h", "r901@h"] and mail.references[-1] == "r999@h"
    assert "references_limit" in mail.defects


@pytest.mark.parametrize("unit", ["(x)", ";", '"', ",", "\\", "a ", "=?utf-8?q?a?= ", "<", "g:;"])
def test_it_parses_hostile_header_values_in_bounded_time(unit):
    value = (unit * (60_000 // len(unit))).encode()
    headers = b"".join(
        name + b": " + value + b"\n"
        for name in (b"From", b"To", b"Subject", b"Message-ID", b"References", b"Date", b"Content-ID")
    )
    part = (
        b"--B\nContent-Type: application/x; name=" + value + b"\nContent-Disposition: attachment; " + value
        + b"\nContent-Transfer-Encoding: " + value + b"\n\nx\n"
    )
    raw = headers + b'Content-Type: multipart/mixed; boundary="B"\n\n' + part * 20 + b"--B--\n"

    mail = parse_quickly(raw)

    assert len(mail.attachments) == 20


def test_it_folds_quotes_in_bounded_time():
    mail = parse_quickly(b"Subject: x\n\n" + b"On Monday Jane wrote:\nanswer\n" * 40_000)

    assert mail.visible_text


def test_it_reads_a_bounce_with_thousands_of_recipients_in_bounded_time():
    blocks = b"".join(b"Final-Recipient: rfc822; u%d@x.example\nAction: failed\nStatus: 5.1.1\n\n" % n
                      for n in range(20_000))
    raw = (
        b"From: MAILER-DAEMON@x.example\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: message/delivery-status\n\n" + blocks + b"--B--\n"
    )

    report = parse_quickly(raw).delivery_report

    assert report is not None and report.permanent and len(report.recipients) == 100
