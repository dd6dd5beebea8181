"""The documented rules: promised times in an agent's reply, and a customer's "it's solved"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from frontdesk.followups.phrases import confirmation_phrase
from frontdesk.followups.promises import find_promise

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("text", "due"), [
    ("I'll update you by Friday.", "2026-11-27 09:00"),
    ("We will get back to you tomorrow at 3pm", "2026-11-24 15:00"),
    ("Expect news next week", "2026-11-30 09:00"),
    ("I will check again in 3 days", "2026-11-26 09:00"),
    ("in two hours", "2026-11-23 12:00"),
    ("by end of day", "2026-11-23 16:00"),
    ("The part arrives on 3 December", "2026-12-03 09:00"),
    ("The part arrives on January 5th", "2027-01-05 09:00"),
    ("planned for 2026-12-10 at 14:30", "2026-12-10 14:30"),
    ("I'll call you on Monday", "2026-11-30 09:00"),  # today is Monday: the next one
])
def test_it_finds_the_promised_time(text, due):
    promise = find_promise(text, now=NOW, tz=UTC)
    assert promise is not None and promise.due_at.strftime("%Y-%m-%d %H:%M") == due


def test_it_keeps_the_sentence_as_a_note_and_finds_nothing_without_a_time():
    promise = find_promise("Thanks for waiting. I'll update you by Friday! Best, Sam", now=NOW, tz=UTC)
    assert promise.sentence == "I'll update you by Friday!" and promise.phrase == "by Friday"
    assert find_promise("We are looking into it.", now=NOW, tz=UTC) is None


@pytest.mark.parametrize(("body", "found"), [
    ("Thanks, solved!", "solved"),
    ("That fixed it, thank you so much", "fixed"),
    ("It works now :)", "works now"),
    ("Danke, das Problem ist gelöst.", "gelöst"),
    ("Merci, c'est réglé", "réglé"),
    ("Gracias, ya funciona", "ya funciona"),
    ("Top, het werkt weer", "werkt weer"),
    ("It is not solved.", None),
    ("Still not fixed, sadly", None),
    ("Is it fixed?", None),
    ("It doesn't work. Solved?", None),
    ("New problem\n\nOn Mon, Sam wrote:\n> This is solved now", None),
    ("> solved\nStill broken", None),
])
def test_it_detects_a_customer_confirming_the_solution(body, found):
    assert confirmation_phrase(body) == found
