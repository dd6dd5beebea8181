"""Property tests: whatever the bytes, parse_message returns a ParsedMail whose fields keep their promises.

parse_message catches everything at the top and then reports the defect ``unparseable``; these tests also
require that this last resort is never needed, so a bug in a parsing step cannot hide behind it.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.mail.headers import decode_words, message_id_list, normalize_message_id, parse_addresses, unfold
from frontdesk.mail.parsing import ParsedMail, parse_message, sanitize_email_html
from frontdesk.mail.quotes import unflow, visible_text

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.eml"))
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
LAST_RESORT_DEFECTS = {"unparseable", "part_error", "header_decode_error"}  # not bounce_parse_error: flufl.bounce
# detectors raise on some garbage (IndexError in Yale), which only means "no report"

ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
any_text = st.text(max_size=40)
encoded_word = st.builds(
    lambda charset, kind, text: f"=?{charset}?{kind}?{text}?=",
    st.sampled_from(["utf-8", "UTF-8", "iso-8859-1", "x-unknown", "utf-8*en", "", "iso-2022-jp", "utf-7"]),
    st.sampled_from(["q", "Q", "b", "B", "x"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?"), max_size=30),
)
header_value = st.one_of(
    ascii_text,
    any_text,
    encoded_word,
    st.lists(st.one_of(encoded_word, ascii_text), max_size=4).map(" ".join),
    st.sampled_from(["<a@b>", "<>", "Jane <jane@example.com>", "a@b, c@d", '"x, y" <z@w>', "g:;", "(((", "=?"]),
)
header_name = st.sampled_from([
    "From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Return-Path",
    "Auto-Submitted", "X-Failed-Recipients", "Content-ID", "Content-Disposition", "X-Custom",
])  # fmt: skip
content_type = st.sampled_from([
    "text/plain", "text/html", "application/pdf", "image/png", "application/ms-tnef", "message/delivery-status",
    "text/rfc822-headers", "text", "/", "multipart/mixed", "message/rfc822", "text/plain/extra", "",
])  # fmt: skip
charset = st.sampled_from(
    ["utf-8", "iso-8859-1", "us-ascii", "x-unknown", "iso-2022-jp", "utf-16", "utf-7", "base64", ""]
)
transfer_encoding = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"])
disposition = st.one_of(
    st.just(""),
    st.builds(lambda kind, name: f"{kind}; filename={name}", st.sampled_from(["attachment", "inline"]), header_value),
    st.builds(lambda name: f"attachment; filename*0*=UTF-8''{name}; filename*1*=%E2%82", ascii_text),
)
body = st.one_of(st.binary(max_size=300), any_text.map(lambda text: text.encode("utf-8", "surrogatepass")))


@st.composite
def leaf(draw) -> bytes:
    params = f"{draw(content_type)}; charset={draw(charset)}; format=flowed"
    lines = [f"Content-Type: {params}", f"Content-Transfer-Encoding: {draw(transfer_encoding)}"]
    if value := draw(disposition):
        lines.append(f"Content-Disposition: {value}")
    head = "\n".join(lines).encode("utf-8", "surrogatepass")
    return head + b"\n\n" + draw(body)


def multipart(children: list[bytes], boundary: str, closed: bool) -> bytes:
    raw = f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'.encode()
    for child in children:
        raw += f"--{boundary}\n".encode() + child + b"\n"
    return raw + (f"--{boundary}--\n".encode() if closed else b"")


mime_tree = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(multipart, st.lists(inner, min_size=1, max_size=4), st.sampled_from(["b1", "b2", "=_x", ""]),
                  st.booleans()),
        inner.map(lambda child: b"Content-Type: message/rfc822\n\n" + child),
    ),
    max_leaves=12,
)


@st.composite
def message(draw) -> bytes:
    headers = draw(st.lists(st.tuples(header_name, header_value), max_size=8))
    head = "".join(f"{name}: {value}\n" for name, value in headers).encode("utf-8", "surrogatepass")
    raw = head + draw(mime_tree)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw.replace(b"\n", b"\r\n") if draw(st.booleans()) else raw


@st.composite
def deep_message(draw) -> bytes:
    depth = draw(st.integers(0, 60))
    raw = draw(leaf())
    for level in range(depth):
        raw = multipart([raw], f"d{level}", draw(st.booleans()))
    return b"From: a@example.com\n" + raw


@st.composite
def mutated_fixture(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(FIXTURES)).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        if action == "flip" and position < len(raw):
            raw[position] ^= draw(st.integers(1, 255))
        elif action == "insert":
            raw[position:position] = draw(st.binary(min_size=1, max_size=20))
        elif action == "delete":
            del raw[position : position + draw(st.integers(1, 200))]
        elif action == "truncate":
            del raw[position:]
        elif action == "duplicate":
            raw[position:position] = raw[position : position + draw(st.integers(1, 400))]
    return bytes(raw)


def check(raw: bytes) -> ParsedMail:
    mail = parse_message(raw)

    assert isinstance(mail, ParsedMail)
    assert not LAST_RESORT_DEFECTS & set(mail.defects), mail.defects
    assert len(mail.defects) == len(set(mail.defects))
    assert len(mail.subject) <= 250
    for value in [mail.subject, mail.from_name, mail.message_id, *mail.in_reply_to, *mail.references]:
        assert "\r" not in value and "\n" not in value
    for values in mail.headers.values():
        assert all("\r" not in value and "\n" not in value for value in values)
    for address in [mail.from_address, *mail.to, *mail.cc, *mail.reply_to]:
        assert address == address.lower()
    assert mail.date is None or mail.date.tzinfo is not None
    assert bool(mail.visible_text) == bool(mail.text)
    assert mail.html is None or "<script" not in mail.html.lower()
    for attachment in mail.attachments:
        assert attachment.filename and not set("/\\\r\n") & set(attachment.filename)
        assert attachment.content_type == attachment.content_type.lower()
        assert isinstance(attachment.content, bytes)
    return mail


@FUZZ
@given(st.binary(max_size=4000))
def test_it_never_fails_on_random_bytes(raw):
    check(raw)


@FUZZ
@given(message())
def test_it_never_fails_on_random_or_truncated_mime(raw):
    check(raw)


@FUZZ
@given(deep_message())
def test_it_never_fails_on_deeply_nested_mime(raw):
    check(raw)


@FUZZ
@given(mutated_fixture())
def test_it_never_fails_on_mutated_real_mail(raw):
    check(raw)


@FUZZ
@given(st.text(max_size=300))
def test_it_never_fails_on_random_header_text(value):
    decoded = decode_words(unfold(value))
    assert isinstance(decoded, str)
    for name, address in parse_addresses(value, []):
        assert address == address.lower() and "\n" not in name
    assert all(" " not in id_ for id_ in [normalize_message_id(value), *message_id_list(value)])


@FUZZ
@given(st.text(st.sampled_from(list("> -\nOnwrote:Sent from my iPhone\t")) | st.characters(), max_size=300))
def test_it_never_fails_on_random_body_text(text):
    assert bool(visible_text(text)) == bool(text)
    assert bool(visible_text(text, quotes_marked=False)) == bool(text)
    assert isinstance(unflow(text, delsp=True), str)
    assert "<script" not in sanitize_email_html(text).lower()
