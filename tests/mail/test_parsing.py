"""parse_message on mail shaped like what real clients send (fixtures/*.eml, written for these tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from frontdesk.mail.parsing import ParsedAttachment, ParsedMail, parse_message

FIXTURES = Path(__file__).parent / "fixtures"
PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def parse(name: str) -> ParsedMail:
    return parse_message((FIXTURES / name).read_bytes())


def test_it_reads_a_gmail_reply_and_folds_the_quoted_history():
    mail = parse("gmail_reply.eml")

    assert mail.message_id == "CAHk8s9pX2+q=Lm4vN0aTyQ8wFz_9e1uV@mail.gmail.example"
    assert mail.in_reply_to == ["0100018cc1f3a2e1-acme-reply@acme.example"]
    assert mail.references == ["ticket-5a1c@acme.example", "0100018cc1f3a2e1-acme-reply@acme.example"]
    assert mail.subject == "Re: [#ACM-1042] Invoice shows the wrong VAT rate"
    assert (mail.from_name, mail.from_address) == ("María García", "maria.garcia@gmail.example")
    assert mail.to == ["support@acme.example"]
    assert mail.date == datetime(2024, 1, 2, 9, 14, 52, tzinfo=UTC)
    assert mail.text.startswith("Hi Sam,\n\nThanks — the corrected invoice looks right now.")
    assert "> We have corrected the VAT rate" in mail.text
    assert mail.visible_text == (
        "Hi Sam,\n\nThanks — the corrected invoice looks right now. Could you also send the\n"
        "credit note for December?\n\nMaría"
    )
    assert mail.html is not None and "<blockquote>" in mail.html and 'class="gmail_quote"' not in mail.html
    assert mail.attachments == [] and mail.delivery_report is None and mail.defects == []


def test_it_reads_outlook_html_only_mail_and_folds_the_from_sent_block():
    mail = parse("outlook_web_html_only.eml")

    assert mail.from_name == "Jansen, Pieter" and mail.from_address == "p.jansen@contoso.example"
    assert mail.in_reply_to == ["ticket-77b2@acme.example"]
    assert mail.html is not None and "<title>" not in mail.html and "Outlook message" not in mail.html
    assert "It’s the address on the PO." in mail.html  # Windows-1252 0x92, quoted-printable
    assert mail.text.startswith("Please ship it to our warehouse in Utrecht instead. It’s the address on the PO.")
    assert "Hello Pieter, where should we deliver order 88231?" in mail.text
    assert mail.visible_text == (
        "Please ship it to our warehouse in Utrecht instead. It’s the address on the PO.\n\nKind regards,\nPieter"
    )


def test_it_folds_outlook_original_message_history():
    mail = parse("outlook_original_message.eml")

    assert mail.message_id == "000a01da3f0e$7d1c2a30$77547e90$@fabrikam.example"
    assert mail.subject == "AW: [#ACM-1077] Lizenzschluessel"
    assert mail.visible_text == "Hello,\n\nthe key works, thank you.\n\nThomas"
    assert "ACME-7731-QX" in mail.text


def test_it_reads_utf8_mislabelled_as_latin1_by_outlook():
    mail = parse("outlook_mislabelled_charset.eml")

    assert mail.text == "Hej! Gäller garantin även för reservdelar köpta i år? Tack – Björn"
    assert mail.subject == "Fråga om garanti"
    assert mail.from_name == "Björn Ström"


def test_it_unpacks_winmail_dat_and_keeps_the_original():
    mail = parse("outlook_winmail_dat.eml")

    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("winmail.dat", "application/ms-tnef"),
        ("Quote 2024.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("notes.txt", "text/plain"),
    ]
    assert mail.attachments[0].content.startswith(b"\x78\x9f\x3e\x22")  # TNEF signature
    assert mail.attachments[1].content == b"PK\x03\x04 fake docx bytes"
    assert mail.attachments[2].content == b"Call back on Friday.\r\n"
    assert mail.text == "Hi, please find the quote and my notes attached.\n\nAnn"


def test_it_keeps_apple_mail_inline_images_with_their_content_id():
    mail = parse("apple_mail_inline_image.eml")

    assert mail.attachments == [
        ParsedAttachment(
            filename="Screenshot 2024-01-05 at 10.21.33.png",
            content_type="image/png",
            content=mail.attachments[0].content,
            content_id="C1D2E3F4-0A1B-4C5D-8E9F-112233445566@home",
            inline=True,
        )
    ]
    assert mail.attachments[0].content.startswith(PNG_1X1)
    assert mail.html is not None
    assert 'src="cid:C1D2E3F4-0A1B-4C5D-8E9F-112233445566@home"' in mail.html
    assert 'alt="error dialog"' in mail.html
    assert mail.text == (
        "Hi,\n\nthe export stops with this message (see screenshot). It’s the same on both Macs.\n\nLena"
    )
    assert mail.defects == []


def test_it_folds_sent_from_my_iphone_and_the_quoted_attribution():
    mail = parse("iphone_reply.eml")

    assert mail.visible_text == "Great, I’ll drop the parcel off on Monday."
    assert "> On 6 Jan 2024, at 15:12, Acme Support <support@acme.example> wrote:" in mail.text
    assert mail.references == ["ticket-91c0@acme.example", "out-2f7d@acme.example"]


def test_it_joins_thunderbird_format_flowed_lines_and_folds_the_signature():
    mail = parse("thunderbird_flowed.eml")

    assert mail.visible_text == (
        'I tried the new build and the sync still stops at 42 %. The log says "token expired" although '
        "I logged in again a minute before. Is there a way to reset the token on your side?"
    )
    assert "-- \nJonas Keller\nKeller & Söhne GmbH" in mail.text
    assert "> Hello Jonas, please try build 4.2.1 and tell us whether the sync completes." in mail.text


def test_it_reads_threading_from_in_reply_to_alone():
    mail = parse("mobile_in_reply_to_only.eml")

    assert mail.in_reply_to == ["out-c81e@acme.example"]
    assert mail.references == []
    assert mail.date == datetime(2024, 1, 8, 13, 15, 12, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert mail.visible_text == "Any update on this? It was promised for Friday."


def test_it_exposes_list_headers_for_automated_mail_detection():
    mail = parse("mailing_list.eml")

    assert mail.headers["precedence"] == ["list"]
    assert mail.headers["list-id"] == ["Users of the project <users.lists.opensource.example>"]
    assert mail.headers["list-unsubscribe"] == [
        "<https://lists.opensource.example/mailman/options/users>, "
        "<mailto:users-request@lists.opensource.example?subject=unsubscribe>"
    ]
    assert len(mail.headers["received"]) == 1


def test_it_exposes_auto_reply_headers():
    mail = parse("auto_reply.eml")

    assert mail.headers["auto-submitted"] == ["auto-replied (vacation)"]
    assert mail.headers["x-autoreply"] == ["yes"]
    assert mail.headers["return-path"] == ["<>"]
    assert mail.subject == "Réponse automatique : [#ACM-1101] Your order"  # U+00A0 became a plain space
    assert mail.delivery_report is None


def test_it_exposes_exchange_out_of_office_headers():
    mail = parse("exchange_out_of_office.eml")

    assert mail.headers["x-auto-response-suppress"] == ["All"]
    assert mail.headers["auto-submitted"] == ["auto-generated"]
    assert mail.headers["x-ms-has-attach"] == [""]
    assert mail.text.startswith("I am out of the office until 22 January")
    assert mail.delivery_report is None


def test_it_survives_mail_without_message_id_date_or_from():
    mail = parse("no_message_id_date_from.eml")

    assert (mail.message_id, mail.date, mail.from_address, mail.from_name) == ("", None, "", "")
    assert mail.subject == "Scan from MFP-3rd-floor"
    assert mail.text == "Scanned document attached to the device log."
    assert mail.defects == []


def test_it_reads_an_empty_from_as_no_sender():
    mail = parse("empty_from.eml")

    assert (mail.from_address, mail.from_name) == ("", "")
    assert mail.reply_to == ["visitor@example.com"]
    assert mail.headers["from"] == [""]


def test_it_takes_the_first_of_several_from_addresses_and_flags_it():
    mail = parse("multiple_from.eml")

    assert (mail.from_name, mail.from_address) == ("Alice Ward", "alice@example.com")
    assert mail.reply_to == ["alice@example.com", "billing@example.com", "bob@example.com"]
    assert mail.to == ["support@acme.example", "sales-emea@acme.example"]
    assert mail.cc == ["carol@example.com", "support@acme.example"]
    assert mail.headers["from"] == ["Alice Ward <Alice@Example.COM>, Bob Ward <bob@example.com>",
                                    "Mallory <mallory@evil.example>"]
    assert "multiple_from" in mail.defects


def test_it_flattens_crlf_smuggled_in_encoded_words():
    mail = parse("crlf_injection.eml")

    assert mail.subject == "Hi Bcc: x"
    assert mail.from_name == "Eve Bcc: victim@example.com"
    assert mail.from_address == "eve@attacker.example"
    assert mail.headers["x-note"] == ["line1 line2 end"]  # CR, LF and NUL from base64
    assert "bcc" not in mail.headers
    for values in mail.headers.values():
        assert all("\r" not in value and "\n" not in value and "\x00" not in value for value in values)


def test_it_reads_rfc2231_and_rfc2047_filenames_and_strips_paths():
    mail = parse("rfc2231_filename.eml")

    assert [(a.filename, a.content_type, a.inline) for a in mail.attachments] == [
        ("Rechnung für Jänner 2024 – Kunde Müller.pdf", "application/pdf", False),
        ("Übersicht 2024.csv", "text/csv", False),
        ("evil.bat", "application/octet-stream", False),
    ]
    assert mail.attachments[0].content.startswith(b"%PDF-1.4")
    assert mail.attachments[1].content == "Monat;Betrag\nJänner;120,00\n".encode()
    assert mail.subject == "Rechnung für Jänner"
    assert mail.from_name == "Jürgen Müller"
    assert mail.text == "Anbei die Rechnung und die Übersicht."


def test_it_reads_iso_2022_jp_without_a_charset_parameter():
    mail = parse("iso2022jp_no_charset.eml")

    assert mail.text == "田中です。\n請求書の件でご連絡しました。\n宜しくお願いします。"
    assert mail.subject == "請求書について"
    assert mail.from_name == "田中 一郎"


def test_it_reads_raw_8bit_headers_as_utf8_with_a_legacy_fallback():
    mail = parse("raw_8bit_headers.eml")

    assert mail.subject == "Größe der Lieferung – Frage"
    assert (mail.from_name, mail.from_address) == ("Zoë Ångström", "zoë@utf8.example")
    assert mail.headers["x-old-gateway"] == ["café crème"]  # Latin-1 bytes, not UTF-8
    assert mail.text == "Welche Größe hat das Paket?"


def test_it_decodes_uuencoded_bodies():
    mail = parse("uuencode.eml")

    assert mail.text == "Hello support,\nthe nightly job failed again with error E42.\nRegards, Ops"
    assert mail.attachments == []


def test_it_names_a_uuencoded_attachment_from_its_begin_line():
    raw = (
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nSee file.\n'
        b"--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: X-UUENCODE \n\n"
        b"begin 644 report.csv\n&82QB+&,*\n`\nend\n--B--\n"
    )

    mail = parse_message(raw)

    assert [(a.filename, a.content) for a in mail.attachments] == [("report.csv", b"a,b,c\n")]
    assert mail.text == "See file."


def test_it_keeps_an_attached_message_whole_without_merging_its_text():
    mail = parse("nested_rfc822.eml")

    assert mail.text == "Please see the complaint below; can you help them?\n\nGrace"
    assert mail.html is None
    assert "INNER SECRET TEXT" not in mail.text + mail.visible_text
    [attached] = mail.attachments
    assert (attached.filename, attached.content_type, attached.inline) == (
        "Broken on arrival.eml", "message/rfc822", False,
    )
    inner = parse_message(attached.content)
    assert inner.message_id == "angry.1@customer.example"
    assert inner.text == "The device arrived broken. INNER SECRET TEXT."


def test_it_reads_attachment_only_mail_with_an_empty_body():
    mail = parse("attachment_only.eml")

    assert (mail.text, mail.html, mail.visible_text) == ("", None, "")
    [pdf] = mail.attachments
    assert (pdf.filename, pdf.content_type, pdf.content_id, pdf.inline) == (
        "scan_0042.pdf", "application/pdf", None, False,
    )
    assert pdf.content.startswith(b"%PDF-1.4")


def test_it_sanitizes_hostile_html_and_blocks_remote_images():
    mail = parse("html_hostile.eml")
    html = mail.html or ""

    for forbidden in ("<script", "javascript:", "onload", "onerror", "<iframe", "<form", "<input", "<style",
                      "style=", "t.spammy.example", "data:", "cdn.spammy.example", "<title", "Prize</"):
        assert forbidden not in html, forbidden
    assert '<img alt="badge">' in html and '<img alt="Spammy logo">' in html
    assert '<img src="cid:logo@spammy.example" alt="inline logo">' in html
    assert '<a href="https://spammy.example/claim" rel="noopener noreferrer nofollow">claim</a>' in html
    assert mail.text == "Click here or claim.\n\nThanks"


def test_it_reads_a_malformed_content_type_as_text():
    mail = parse("malformed_content_type.eml")

    assert mail.text == "A new review was posted: “Great product, slow delivery.”"
    assert mail.attachments == []
    assert "invalid_content_type" in mail.defects


def test_it_reads_unknown_charsets_as_utf8_and_flags_them():
    mail = parse("unknown_charset.eml")

    assert mail.text == "Export finished ✓ — 1 200 rows."
    assert mail.subject == "Status ✓"
    assert "unknown_charset" in mail.defects


def test_it_does_not_fold_a_forwarded_message():
    mail = parse("gmail_forward.eml")

    assert mail.visible_text == mail.text
    assert mail.visible_text.endswith("Order 99120: 1 x Standing desk, 499.00 EUR.")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda path: path.name)
def test_it_reads_every_fixture_the_same_with_crlf_line_ends(path):
    lf = parse_message(path.read_bytes())
    crlf = parse_message(path.read_bytes().replace(b"\n", b"\r\n"))

    assert (crlf.message_id, crlf.subject, crlf.from_address, crlf.to, crlf.date) == (
        lf.message_id, lf.subject, lf.from_address, lf.to, lf.date,
    )
    assert crlf.text == lf.text and crlf.visible_text == lf.visible_text
    assert [(a.filename, a.content_type) for a in crlf.attachments] == [
        (a.filename, a.content_type) for a in lf.attachments
    ]
    assert crlf.delivery_report == lf.delivery_report
    assert "bare_lf" not in crlf.defects


def test_it_flags_bare_line_feeds_among_crlf():
    mail = parse_message(b"From: a@example.com\r\nSubject: smuggle\r\n\r\nline one\nline two\r\n")

    assert "bare_lf" in mail.defects
    assert mail.text == "line one\nline two"


def test_it_normalises_message_ids_in_headers():
    mail = parse_message(
        b"Message-ID:   <abc@host>  (added by relay)\n"
        b"In-Reply-To: Your message of Monday <parent@host>\n"
        b"References: <root@host>\n <parent@host> <root@host> garbage <with space@host>\n\nhi\n"
    )

    assert mail.message_id == "abc@host"
    assert mail.in_reply_to == ["parent@host"]
    assert mail.references == ["root@host", "parent@host"]


def test_it_flags_a_garbage_message_id_and_date():
    mail = parse_message(b"Message-ID: not an id\nDate: yesterday-ish\n\nhi\n")

    assert (mail.message_id, mail.date) == ("", None)
    assert {"invalid_message_id", "invalid_date"} <= set(mail.defects)


def test_it_takes_zone_less_dates_as_utc():
    mail = parse_message(b"Date: Mon, 1 Jan 2024 10:00:00 -0000\n\nhi\n")

    assert mail.date == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_it_replaces_lone_surrogates_that_utf7_decodes_to():
    mail = parse_message(b"Subject: =?utf-7?q?a+2AA-b?=\nContent-Type: text/html; charset=utf-7\n\n<p>+2AA-</p>\n")

    assert (mail.subject, mail.text, mail.html) == ("a\ufffdb", "\ufffd", "<p>\ufffd</p>")
    assert mail.defects == []


def test_it_returns_the_raw_text_when_nothing_else_can_be_read():
    mail = parse_message(b"\xff\xfe\x00garbage without headers")

    assert isinstance(mail, ParsedMail)
    assert mail.text == "ÿþgarbage without headers"
