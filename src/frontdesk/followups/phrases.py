"""Does a customer's reply say the problem is solved? ("thanks, solved", "that fixed it")

Only ever a *suggestion* to the agent (never an automatic solve). The rules, kept simple so
they can be read and predicted:

1. Only the customer's own new text counts: quoted lines (starting with ``>``) and anything
   after a reply header ("On … wrote:", "-----Original Message-----") are dropped, and only
   the first 600 characters are read.
2. The text is lower-cased and split into sentences (``.``, ``!``, ``?``, new lines).
3. A sentence confirms when it contains one of ``CONFIRMATIONS`` (English, German, French,
   Spanish, Dutch) as whole words, and contains none of ``NEGATIONS`` ("not", "still",
   "doesn't", "nicht", "pas", "no", "niet" …): "it is not solved" and "still not fixed"
   never count.
4. One confirming sentence is enough; a question mark at its end cancels it ("is it fixed?").
"""

from __future__ import annotations

import re

CONFIRMATIONS = [
    # English
    "solved", "resolved", "fixed", "that did it", "did the trick", "works now", "working now",
    "it works", "is working", "all good", "all sorted", "sorted now", "you can close",
    "please close", "close the ticket", "close this ticket", "problem is gone", "issue is gone",
    # German
    "gelöst", "erledigt", "funktioniert jetzt", "funktioniert wieder", "klappt jetzt", "klappt wieder",
    "kann geschlossen werden", "können sie schließen",
    # French
    "résolu", "réglé", "ça marche", "ca marche", "fonctionne maintenant", "fonctionne à nouveau",
    "vous pouvez fermer",
    # Spanish
    "resuelto", "solucionado", "ya funciona", "funciona ahora", "pueden cerrar", "puede cerrar",
    # Dutch
    "opgelost", "werkt weer", "werkt nu", "mag gesloten worden",
]
NEGATIONS = [
    "not", "n't", "no", "never", "still", "yet", "anymore", "nicht", "kein", "keine", "noch",
    "pas", "plus", "toujours", "jamais", "ne", "todavía", "todavia", "aún", "aun", "nunca", "sigue",
    "niet", "geen", "nog",
]

_QUOTE_HEADER = re.compile(
    r"^(on .+ wrote:|am .+ schrieb .+:|le .+ a écrit :?|el .+ escribió:|op .+ schreef .+:|-{2,}\s*original message)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[\w'’]+", re.UNICODE)


def _own_text(body: str) -> str:
    lines = []
    for line in body.splitlines():
        stripped = line.strip()
        if _QUOTE_HEADER.match(stripped):
            break
        if not stripped.startswith(">"):
            lines.append(stripped)
    return "\n".join(lines)[:600].lower().replace("’", "'")


def _contains(sentence: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", sentence) is not None


def _negated(sentence: str) -> bool:
    words = set(_WORD.findall(sentence))
    return any(n in words for n in NEGATIONS if n != "n't") or "n't" in sentence


def confirmation_phrase(body: str) -> str | None:
    """The confirming phrase found in ``body`` (the customer's message), else None."""
    for match in _SENTENCE.finditer(_own_text(body)):
        sentence = match.group(0).strip()
        if not sentence or sentence.endswith("?") or _negated(sentence):
            continue
        for phrase in CONFIRMATIONS:
            if _contains(sentence, phrase):
                return phrase
    return None
