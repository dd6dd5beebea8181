"""Django admin for calendars. The forms call the same checks as the services (time zone,
holiday region, interval order and overlaps, "needs hours unless 24/7"), and every save renews
the calendar's ``revision`` so compiled schedules are rebuilt."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from frontdesk.core.errors import InvalidInput

from . import services
from .models import BusinessCalendar, ClosedDay, OpeningInterval, SpecialHours, format_minute


class TimeOfDayField(forms.CharField):
    """Minutes after midnight shown and typed as "HH:MM" ("24:00" allowed as an end)."""

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 5, "maxlength": 5, "placeholder": "HH:MM"}))
        kwargs.setdefault("help_text", "HH:MM" + (" (24:00 = midnight)" if end else ""))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_minute(value) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return services.parse_minute(value, end=self.end)
        except InvalidInput as exc:
            raise ValidationError(exc.detail) from exc


class IntervalForm(forms.ModelForm):
    start_minute = TimeOfDayField(label="Opens")
    end_minute = TimeOfDayField(label="Closes", end=True)

    class Meta:
        fields = ["start_minute", "end_minute"]


class IntervalFormSet(forms.BaseInlineFormSet):
    """Checks the rows that stay (not deleted) together, grouped by ``group_by``."""

    group_by = "weekday"

    def _kept(self) -> list[dict]:
        return [
            form.cleaned_data for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("start_minute") is not None and form.cleaned_data.get("end_minute") is not None
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        groups: dict = {}
        for row in self._kept():
            groups.setdefault(row[self.group_by], []).append((row["start_minute"], row["end_minute"]))
        try:
            for key, spans in groups.items():
                services.check_spans(spans, where=str(key))
            self.check_parent(len(self._kept()))
        except InvalidInput as exc:
            raise ValidationError(exc.detail) from exc

    def check_parent(self, count: int) -> None:
        services.check_has_hours(always_open=self.instance.always_open, interval_count=count)


class SpecialFormSet(IntervalFormSet):
    group_by = "date"

    def check_parent(self, count: int) -> None:
        pass


class OpeningIntervalInline(admin.TabularInline):
    model = OpeningInterval
    form = IntervalForm
    formset = IntervalFormSet
    fields = ["weekday", "start_minute", "end_minute"]
    extra = 0


class SpecialHoursInline(admin.TabularInline):
    model = SpecialHours
    form = IntervalForm
    formset = SpecialFormSet
    fields = ["date", "start_minute", "end_minute", "label"]
    extra = 0


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    fields = ["date", "label"]
    extra = 0


class CalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "always_open", "country", "subdivision", "is_default"]

    def clean(self):
        data = super().clean()
        try:
            if "time_zone" in data:
                data["time_zone"] = services.check_time_zone(data["time_zone"])
            data["country"], data["subdivision"] = services.check_region(
                data.get("country", ""), data.get("subdivision", "")
            )
        except InvalidInput as exc:
            raise ValidationError(exc.detail) from exc
        if self.instance.pk and self.instance.is_default and not data.get("is_default"):
            raise ValidationError("Make another calendar the default instead.")
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = CalendarForm
    list_display = ["name", "time_zone", "always_open", "country", "subdivision", "is_default", "updated_at"]
    search_fields = ["name"]
    inlines = [OpeningIntervalInline, ClosedDayInline, SpecialHoursInline]

    def save_model(self, request, obj, form, change):
        if obj.is_default:
            BusinessCalendar.objects.filter(is_default=True).exclude(pk=obj.pk).update(is_default=False)
        obj.revision = uuid.uuid4()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        calendar = form.instance
        calendar.revision = uuid.uuid4()  # the rows changed after save_model: rebuild again
        calendar.save(update_fields=["revision", "updated_at"])

    def has_delete_permission(self, request, obj=None):
        # The default calendar is replaced, not deleted (calendar_delete refuses it too).
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_default)
