"""Business calendars: when a team is at work, in its own time zone.

Times of day are stored as **minutes after local midnight** (``start_minute`` 0–1439,
``end_minute`` 1–1440): ``1440`` is the end of the day ("24:00"), so a day's last interval can
run to midnight without a wrap-around. An interval never crosses midnight; a night shift is two
intervals (Mon 22:00–24:00 and Tue 00:00–06:00), which the arithmetic treats as one stretch.

Rows are validated by ``services`` (and the admin forms, which call the same checks), not in
``save()``. Every edit goes through a service that renews ``revision``, the key of the compiled
schedule cache (``schedule.schedule_for``).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from frontdesk.core.models import TimeStampedModel

CROSSES_MIDNIGHT = (
    "An interval must end after it starts; it cannot cross midnight "
    "(end it at 24:00 and start the next day at 00:00)."
)


def format_minute(minute: int) -> str:
    """540 → "09:00"; 1440 → "24:00"."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessCalendar(TimeStampedModel):
    """Opening hours in ``time_zone``, minus public holidays of ``country``/``subdivision``
    (the ``holidays`` package) and custom closed days, with special hours on given dates.
    ``always_open`` calendars ignore all of that: every instant is business time."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin.")
    always_open = models.BooleanField(default=False, help_text="Open 24/7: no hours, no holidays.")
    country = models.CharField(
        max_length=3, blank=True, help_text="ISO 3166 code whose public holidays close the calendar, e.g. DE."
    )
    subdivision = models.CharField(
        max_length=64, blank=True, help_text="State/region for regional holidays, e.g. BY (Bavaria)."
    )
    is_default = models.BooleanField(default=False)
    # Renewed by every service that changes the calendar or its rows: the schedule cache key.
    # Not ``updated_at`` (two edits under a frozen test clock share it) nor a counter (a test
    # database that rolls back may hand out the same pk and counter again).
    revision = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="calendars_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpeningInterval(models.Model):
    """One stretch of weekly opening hours, [start, end) local wall time on ``weekday``."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_minute = models.PositiveSmallIntegerField(help_text="Minutes after midnight, 0–1439 (09:00 = 540).")
    end_minute = models.PositiveSmallIntegerField(help_text="Minutes after midnight, 1–1440 (24:00 = 1440).")

    class Meta:
        ordering = ["calendar", "weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="calendars_interval_weekday"),
            models.CheckConstraint(
                condition=Q(start_minute__lt=F("end_minute"), end_minute__lte=1440),
                name="calendars_interval_order",
                violation_error_message=CROSSES_MIDNIGHT,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {format_minute(self.start_minute)}–{format_minute(self.end_minute)}"


class ClosedDay(models.Model):
    """A date on which the calendar is closed all day (company holiday, inventory day…)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendars_closed_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.label}".strip()


class SpecialHours(models.Model):
    """One opening interval on a given date. The rows of a date *replace* that date's weekly
    hours (and open it even on a public holiday): e.g. 10:00–16:00 on a Sunday before
    Christmas. Same minute convention as ``OpeningInterval``."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="special_hours")
    date = models.DateField()
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date", "start_minute"]
        verbose_name_plural = "special hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(start_minute__lt=F("end_minute"), end_minute__lte=1440),
                name="calendars_special_order",
                violation_error_message=CROSSES_MIDNIGHT,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {format_minute(self.start_minute)}–{format_minute(self.end_minute)}"
