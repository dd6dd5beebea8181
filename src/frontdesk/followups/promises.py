"""Turn a promise in an agent's reply ("I'll update you by Friday") into a due time.

Rules (first match in the text wins; times are in the agent's time zone; a day without a
time means 09:00 that day, the start of a working day):

- ``today`` / ``end of day`` / ``EOD`` / ``this afternoon`` → today 16:00 (now + 1 hour if
  that has passed);
- ``tomorrow`` → tomorrow 09:00;
- ``next week`` → the next Monday 09:00; ``end of the week`` → this week's Friday 16:00 (next
  week's if already past);
- a weekday (``Monday`` … ``Sunday``, optionally after ``by``/``on``/``next``) → its next
  occurrence after today, 09:00;
- ``in N days`` / ``in N weeks`` (N a number or ``a``/``one``/``two``/``a couple of``) → that
  many days ahead, 09:00; ``in N hours`` → now + N hours;
- a date: ISO ``2026-12-03``, ``3 December`` / ``December 3`` (``3rd``, short month names,
  optional year) → that day 09:00, next year if the day has passed this year;
- an optional ``at 15:00`` / ``at 3pm`` / ``at 3:30 pm`` right after a day phrase sets the time.

English only. Nothing found → None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
_MONTH = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_COUNT = r"(?P<n>\d+|an?|one|two|three|four|five|a couple of|a few)"
_YEAR = r"\b(?:,?\s+(?P<y>\d{4}))?"
_NUMBER = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a couple of": 2, "a few": 3}
_AT = r"(?:\s+at\s+(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm)?)?"

START_OF_DAY = time(9, 0)
LATE_IN_DAY = time(16, 0)

PATTERNS = [
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b" + _AT)),
    ("day_month", re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + _YEAR + _AT)),
    ("month_day", re.compile(r"\b" + _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?" + _YEAR + _AT)),
    ("in_hours", re.compile(r"\bin\s+" + _COUNT + r"\s+hours?\b")),
    ("in_days", re.compile(r"\bin\s+" + _COUNT + r"\s+(?P<unit>days?|weeks?)\b" + _AT)),
    ("today", re.compile(r"\b(?:later\s+)?today\b|\bend of (?:the\s+)?day\b|\beod\b|\bthis afternoon\b")),
    ("tomorrow", re.compile(r"\btomorrow\b" + _AT)),
    ("next_week", re.compile(r"\bnext week\b")),
    ("end_of_week", re.compile(r"\b(?:end of (?:the|this) week|this week)\b")),
    ("weekday", re.compile(r"\b(?:(?:by|on|next|until|before)\s+)?(?P<wd>" + "|".join(WEEKDAYS) + r")\b" + _AT)),
]


@dataclass(frozen=True)
class Promise:
    due_at: datetime
    phrase: str  # the words that made the promise, as written
    sentence: str  # the sentence they are in (a note for the follow-up)


def _at(match: re.Match, default: time) -> time:
    groups = match.groupdict()
    if not groups.get("hour"):
        return default
    hour, minute = int(groups["hour"]), int(groups.get("minute") or 0)
    if groups.get("ampm") == "pm" and hour < 12:
        hour += 12
    elif groups.get("ampm") == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return default
    return time(hour, minute)


def _month(name: str) -> int:
    return next(i for i, full in enumerate(MONTHS, start=1) if full.startswith(name[:3]))


def _on(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def _resolve(kind: str, match: re.Match, local: datetime, tz: tzinfo) -> datetime | None:
    today = local.date()
    if kind == "iso" or kind in ("day_month", "month_day"):
        year = int(match.group("y")) if match.group("y") else None
        month = int(match.group("m")) if kind == "iso" else _month(match.group("mon"))
        try:
            day = date(year or today.year, month, int(match.group("d")))
        except ValueError:
            return None
        if day < today and year is None:
            day = day.replace(year=today.year + 1)
        return _on(day, _at(match, START_OF_DAY), tz)
    if kind == "in_hours":
        return local + timedelta(hours=_NUMBER.get(match.group("n")) or int(match.group("n")))
    if kind == "in_days":
        n = _NUMBER.get(match.group("n")) or int(match.group("n"))
        days = n * 7 if match.group("unit").startswith("week") else n
        return _on(today + timedelta(days=days), _at(match, START_OF_DAY), tz)
    if kind == "today":
        late = _on(today, LATE_IN_DAY, tz)
        return late if late > local else local + timedelta(hours=1)
    if kind == "tomorrow":
        return _on(today + timedelta(days=1), _at(match, START_OF_DAY), tz)
    if kind == "next_week":
        return _on(today + timedelta(days=7 - today.weekday()), START_OF_DAY, tz)
    if kind == "end_of_week":
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        due = _on(friday, LATE_IN_DAY, tz)
        return due if due > local else due + timedelta(days=7)
    if kind == "weekday":
        target = WEEKDAYS.index(match.group("wd"))
        ahead = (target - today.weekday()) % 7 or 7
        return _on(today + timedelta(days=ahead), _at(match, START_OF_DAY), tz)
    return None


def _sentence(text: str, start: int, end: int) -> str:
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    right = min(rights) + 1 if rights else len(text)
    return " ".join(text[left:right].split())[:300]


def find_promise(text: str, *, now: datetime, tz: tzinfo) -> Promise | None:
    """The first promise of a time in ``text`` (see the module's rules), or None."""
    lowered = text.lower()
    local = now.astimezone(tz)
    found: list[tuple[int, str, re.Match]] = []
    for kind, pattern in PATTERNS:
        if match := pattern.search(lowered):
            found.append((match.start(), kind, match))
    for _, kind, match in sorted(found, key=lambda item: item[0]):
        due = _resolve(kind, match, local, tz)
        if due is not None and due > now:
            return Promise(due_at=due, phrase=text[match.start():match.end()].strip(),
                           sentence=_sentence(text, match.start(), match.end()))
    return None
