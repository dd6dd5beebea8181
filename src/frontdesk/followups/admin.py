from django.contrib import admin

from .models import CheckIn, FollowUp, FollowupSettings, Ladder, LadderPolicy, Resolution, Snooze


@admin.register(LadderPolicy)
class LadderPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "enabled", "first_reminder_days", "second_reminder_days", "solve_after_days", "calendar")


@admin.register(Ladder)
class LadderAdmin(admin.ModelAdmin):
    list_display = ("ticket", "state", "step", "started_at", "next_step_at", "end_reason")
    list_filter = ("state",)
    raw_id_fields = ("ticket", "start_event", "policy")


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "owner", "due_at", "state")
    list_filter = ("kind", "state")
    raw_id_fields = ("ticket", "owner", "created_by", "source_event", "message")


@admin.register(Snooze)
class SnoozeAdmin(admin.ModelAdmin):
    list_display = ("ticket", "until", "snoozed_by")
    raw_id_fields = ("ticket", "snoozed_by")


@admin.register(Resolution)
class ResolutionAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "solved_at", "solved_by")
    list_filter = ("kind",)
    raw_id_fields = ("ticket", "status_event", "solved_by")


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("ticket", "state", "due_at", "reason")
    raw_id_fields = ("ticket", "solve_event", "message")


admin.site.register(FollowupSettings)
