"""Reading an uploaded CSV of people whatever its encoding, delimiter and header style.

Pure functions on bytes/text: no database. ``imports.py`` stores, previews and imports.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

# Header names we recognise (lowercased, spaces/dashes as underscores) → our column.
HEADERS = {
    "email": "email", "e_mail": "email", "mail": "email", "email_address": "email", "e_mail_address": "email",
    "name": "name", "full_name": "name", "customer_name": "name", "passenger": "name", "passenger_name": "name",
    "external_id": "external_id", "externalid": "external_id", "customer_id": "external_id", "id": "external_id",
    "group_key": "group_key", "group": "group_key", "booking": "group_key", "booking_number": "group_key",
    "booking_reference": "group_key", "pnr": "group_key", "order": "group_key", "order_number": "group_key",
}
POSITIONAL = ("email", "name", "external_id", "group_key")
MAX_FIELD = 10_000


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a Python codec name
    note: str  # what we found, in words for the agent


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes) -> Decoded:
    """Bytes → text. BOMs first (UTF-8, UTF-16 LE/BE), then UTF-16 by its NUL pattern, then
    strict UTF-8, then Windows-1252 (what spreadsheets on Windows save as "CSV"), then
    Latin-1, which decodes anything. The note says which, so the agent can check names."""
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(data[3:].decode("utf-8", errors="replace"), "utf-8-sig", "UTF-8 (with byte-order mark)")
    for bom, codec, label in ((codecs.BOM_UTF16_LE, "utf-16-le", "little"), (codecs.BOM_UTF16_BE, "utf-16-be", "big")):
        if data.startswith(bom):
            return Decoded(data[2:].decode(codec, errors="replace"), "utf-16",
                           f"UTF-16 ({label}-endian, with byte-order mark)")
    if codec := _looks_utf16(data):
        return Decoded(data.decode(codec, errors="replace"), codec,
                       f"UTF-16 ({'little' if codec.endswith('le') else 'big'}-endian, no byte-order mark)")
    try:
        return Decoded(data.decode("utf-8"), "utf-8", "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "cp1252",
                       "not UTF-8: read as Windows-1252 (Western European); check accented names in the preview")
    except UnicodeDecodeError:
        return Decoded(data.decode("latin-1"), "latin-1",
                       "neither UTF-8 nor Windows-1252: read as Latin-1; check names in the preview")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _header_key(cell: str) -> str:
    return "_".join(cell.strip().lower().replace("-", " ").replace(".", " ").split())


@dataclass
class Row:
    number: int  # the row's (last) line number in the file, the header being line 1
    values: dict[str, str] | None  # None: the row could not be read
    error: str = ""


def rows(text: str) -> Iterator[Row]:
    """Every data row as {column: value}; a header row names the columns (any order, common
    synonyms); without one the columns are email, name, external id, group key. Blank lines
    are skipped. A row the csv module cannot read comes back with its error and reading goes
    on at the next line."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    columns: list[str | None] | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(reader.line_num, None, f"cannot be read as CSV ({exc})")
            continue
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            keys = [HEADERS.get(_header_key(cell)) for cell in cells]
            if "email" in keys:
                columns = keys
                continue
            columns = list(POSITIONAL)
        if any(len(cell) > MAX_FIELD for cell in cells):
            yield Row(number, None, f"has a field longer than {MAX_FIELD} characters (an unclosed quote?)")
            continue
        values: dict[str, str] = {}
        for key, cell in zip(columns, cells, strict=False):
            if key and key not in values:
                values[key] = cell
        yield Row(number, values)
