"""visible_text: what a reader needs to see of a reply; unflow (RFC 3676)."""

from __future__ import annotations

import pytest

from frontdesk.mail.quotes import unflow, visible_text

LONG_TAIL = "Body\n--\n" + "\n".join(f"line {n}" for n in range(30))


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Jan 2, 2024 at 9:14 AM Jane Doe <jane@example.com> wrote:",
        "On 02.01.24 09:14, Jane Doe wrote:",
        "Am Di., 2. Jan. 2024 um 09:14 Uhr schrieb Jane Doe <jane@example.com>:",
        "Le mar. 2 janv. 2024 à 09:14, Jane Doe <jane@example.com> a écrit :",
        "El mar, 2 ene 2024 a las 9:14, Jane Doe (<jane@example.com>) escribió:",
        "Op di 2 jan. 2024 om 09:14 schreef Jane Doe <jane@example.com>:",
        "Il giorno mar 2 gen 2024 alle ore 09:14 Jane Doe <jane@example.com> ha scritto:",
        "Em ter., 2 de jan. de 2024 às 09:14, Jane Doe <jane@example.com> escreveu:",
        "Den tis 2 jan. 2024 kl 09:14 skrev Jane Doe <jane@example.com>:",
    ],
)
def test_it_folds_history_after_an_attribution_line(attribution):
    text = f"Thanks, that worked.\n\n{attribution}\n\n> Please try again.\n> Jane\n"

    assert visible_text(text) == "Thanks, that worked."


def test_it_folds_an_attribution_wrapped_over_two_lines():
    text = "Yes.\n\nOn Tue, Jan 2, 2024 at 9:14 AM Jane Doe <\njane@example.com> wrote:\n\n> Is it fixed?\n"

    assert visible_text(text) == "Yes."


def test_it_keeps_interleaved_answers_with_their_questions():
    text = "On Tue, Jan 2, 2024 Jane wrote:\n> Which version?\n4.2\n> Which OS?\nLinux\n\n> Thanks\n> Jane"

    assert visible_text(text) == "On Tue, Jan 2, 2024 Jane wrote:\n> Which version?\n4.2\n> Which OS?\nLinux"


def test_it_folds_outlook_header_blocks_but_not_forwarded_ones():
    reply = "Done.\n\n________________________________\nFrom: Jane <j@x.example>\nSent: Monday\nTo: us\n\nOld"
    forward = "FYI\n\n---------- Forwarded message ---------\nFrom: Jane <j@x.example>\nDate: Monday\n\nOld"

    assert visible_text(reply) == "Done."
    assert visible_text(forward) == forward


def test_it_folds_localised_original_message_markers():
    assert visible_text("Passt.\n\n-----Ursprüngliche Nachricht-----\nVon: x\n\nalt") == "Passt."


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("Body\n\n-- \nJane Doe\nACME Ltd", "Body"),
        ("Body\n--\nJane", "Body"),
        ("Body\n\nSent from my iPad", "Body"),
        ("Body\n\nGet Outlook for Android<https://aka.ms/ghei36>", "Body"),
        ("Body\n\nVon meinem iPhone gesendet", "Body"),
        (LONG_TAIL, LONG_TAIL),  # 30 lines after "--" are not a signature
    ],
)
def test_it_folds_short_trailing_signatures(text, visible):
    assert visible_text(text) == visible


def test_it_never_returns_nothing_for_a_non_empty_text():
    only_quotes = "> quoted\n> only"

    assert visible_text(only_quotes) == only_quotes
    assert visible_text("-- \nsignature only") == "-- \nsignature only"


def test_it_unflows_format_flowed_text_keeping_quote_depth_and_signature():
    flowed = "Soft \nbreak.\n> Quoted \n> soft.\n>> Deep\n \nStuffed\n-- \nSig"

    assert unflow(flowed, delsp=False) == "Soft break.\n> Quoted soft.\n>> Deep\n\nStuffed\n-- \nSig"
    assert unflow("Joined \nword", delsp=True) == "Joinedword"


def test_it_ends_text_from_html_at_the_attribution_line():
    # html_to_text of a Gmail reply: the blockquote lost its quote marks
    text = "Answer\nOn Mon, Jan 1, 2024 Jane <j@x.example> wrote:\nold question\nmore old text"

    assert visible_text(text, quotes_marked=False) == "Answer"
    assert visible_text(text) == text  # as plain text it would be a bottom-posted answer
