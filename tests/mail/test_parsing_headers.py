"""Header values, charsets and mail HTML: the pieces parse_message is built from."""

from __future__ import annotations

import time

import pytest

from frontdesk.mail.charsets import codec_for, decode_bytes
from frontdesk.mail.headers import decode_words, message_id_list, normalize_message_id, parse_addresses
from frontdesk.mail.parsing import safe_filename, sanitize_email_html


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),  # whitespace between encoded words is dropped
        ("=?utf-8?b?5pel5pys?==?utf-8?b?6Kqe?=", "日本語"),  # glued words
        ("=?utf-8?b?5pel?= =?utf-8?b?5pys6Kqe?=", "日本語"),
        ("=?utf-8?b?5pc=?= =?utf-8?b?peacrA==?=", "日本"),  # a character split across two words
        ("Re: =?iso-8859-1?Q?Fr=E5ga?= om", "Re: Fråga om"),
        ("=?utf-8*en?q?Hello?=", "Hello"),  # RFC 2231 language tag
        ("=?utf-8?q?Hello World?=", "Hello World"),  # unencoded space inside a word
        ("=?utf-8?b?w6k?=", "é"),  # missing padding
        ("=?x-unknown?q?=C3=A9?=", "é"),
        ("=?utf-8?b?###?=", "=?utf-8?b?###?="),  # undecodable: left as is
        ("no words here", "no words here"),
        ("=?utf-8?q?a=0D=0Ab?=", "a\r\nb"),  # flattened later by single_line
    ],
)
def test_it_decodes_encoded_words_the_way_mailers_write_them(raw, decoded):
    assert decode_words(raw) == decoded


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("<abc@host>", "abc@host"),
        ("  <abc@host>  ", "abc@host"),
        ("<abc@host> (comment)", "abc@host"),
        ("abc@host", "abc@host"),
        ("<1234.5678>", "1234.5678"),
        ("<>", ""),
        ("<a b@host>", ""),
        ("hello world", ""),
        ("<" + "x" * 300 + "@host>", ""),
        ("<abc\x00@host>", ""),
        ("", ""),
    ],
)
def test_it_normalises_message_ids(value, normalised):
    assert normalize_message_id(value) == normalised


def test_it_lists_message_ids_in_order_without_duplicates():
    assert message_id_list("<a@h> <b@h>\t<a@h> <c@h>") == ["a@h", "b@h", "c@h"]
    assert message_id_list("a@h b@h") == ["a@h", "b@h"]
    assert message_id_list("") == []


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        ("Jane <JANE@Example.com>", [("Jane", "jane@example.com")]),
        ('"Doe, Jane" <jane@x.example>, bob@x.example', [("Doe, Jane", "jane@x.example"), ("", "bob@x.example")]),
        ("Mail Delivery System", [("Mail Delivery System", "")]),
        ("<>", [("", "")]),
        ("undisclosed-recipients:;", []),
        ("=?utf-8?q?Eve=0D=0AX?= <eve@x.example>", [("Eve X", "eve@x.example")]),
        ("alice@example.org)<bob@example.com>", [("", "alice@example.org")]),
    ],
)
def test_it_parses_address_lists(value, pairs):
    assert parse_addresses(value, []) == pairs


@pytest.mark.parametrize("unit", [",", "(x)", '"', ", ,", "a ", ".", "g:;", "\\"])
def test_it_parses_hostile_address_lists_in_linear_time(unit):
    value = unit * (64 * 1024 // len(unit))
    started = time.monotonic()

    parse_addresses(value, [])

    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("data", "charset", "text", "defects"),
    [
        ("héllo".encode(), "iso-8859-1", "héllo", []),  # mislabelled UTF-8
        (b"\x93quoted\x94", "us-ascii", "“quoted”", []),  # cp1252 under an ASCII label
        ("日本".encode("iso2022_jp"), None, "日本", []),
        ("한국".encode("cp949"), "ks_c_5601-1987", "한국", []),
        (b"caf\xe9", "utf-8", "café", ["charset_fallback"]),
        ("ok ✓".encode(), "x-mac-klingon", "ok ✓", ["unknown_charset"]),
        (b"abc", "base64", "abc", ["unknown_charset"]),  # not a text encoding
        (b"\\x41", "unicode_escape", "\\x41", ["unknown_charset"]),  # not a mail charset
    ],
)
def test_it_decodes_bytes_with_declared_then_fallback_charsets(data, charset, text, defects):
    found: list[str] = []

    assert decode_bytes(data, charset, found) == text
    assert found == defects


def test_it_maps_mail_charset_labels_to_codecs():
    assert [codec_for(label) for label in ("UTF8", '"utf-8"', "x-unknown", "gb2312", "rot13", None)] == [
        "utf-8", "utf-8", None, "gb18030", None, None,
    ]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("a\r\nb.txt", "a b.txt"),
        ("\u202eexe.pdf", "exe.pdf"),  # right-to-left override
        ("..", "attachment"),
        (" ", "attachment"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_it_makes_filenames_safe(name, safe):
    assert safe_filename(name) == safe


def test_it_keeps_cid_images_and_blocks_remote_ones():
    html = (
        '<img src="cid:a@b" alt="inline"><img src="https://t.example/p.gif" alt="pixel">'
        '<img src=" HTTP://t.example/x" alt="upper"><img src="//t.example/x"><img src="data:image/png;base64,AA">'
        '<a href="https://ok.example">ok</a><a href="cid:a@b">cid link</a><a href="javascript:x()">js</a>'
    )

    assert sanitize_email_html(html) == (
        '<img src="cid:a@b" alt="inline"><img alt="pixel"><img alt="upper"><img><img>'
        '<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a>'
        '<a href="cid:a@b" rel="noopener noreferrer nofollow">cid link</a>'
        '<a rel="noopener noreferrer nofollow">js</a>'
    )
