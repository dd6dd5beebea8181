"""How an ``sla`` timeline event reads in the workspace (desk's timeline calls this)."""

from __future__ import annotations

from .models import Metric


def _metric(value) -> str:
    name = value.get("metric") if isinstance(value, dict) else value
    try:
        return Metric(name).label.lower()
    except ValueError:
        return str(name)


def _metrics(after: dict) -> str:
    return ", ".join(_metric(m) for m in after.get("metrics") or []) or "timers"


def describe_sla_event(after: dict) -> str:
    """One line for the timeline, e.g. "SLA: first response started (Premium, 120 business min)"."""
    action = after.get("action")
    if action == "started":
        return (f"SLA: {_metric(after)} started ({after.get('policy')}, {after.get('priority')}, "
                f"{after.get('target_minutes')} business min)" + (", paused" if after.get("paused") else ""))
    if action == "satisfied":
        return f"SLA: {_metrics(after)} met by {after.get('reason', 'a reply')}"
    if action in ("paused", "resumed", "stopped"):
        return f"SLA: {_metrics(after)} {action} ({after.get('reason', '')})"
    if action == "retargeted":
        return f"SLA: {_metrics(after)} now on {after.get('policy')} ({after.get('priority')}), used time kept"
    if action == "warning":
        return f"SLA: {_metric(after)} warning, due {after.get('due_at', '?')[:16].replace('T', ' ')} UTC"
    if action == "breached":
        return f"SLA: {_metric(after)} target missed"
    if action == "update_sent":
        return f"SLA: customer told the new time {after.get('revised_due_at', '?')[:16].replace('T', ' ')} UTC"
    if action == "expedited":
        price = f", {after['price']} {after.get('currency', '')}".rstrip() if after.get("price") else ""
        return f"SLA: expedited by {after.get('by')} ({after.get('policy')}{price})"
    if action == "action_failed":
        return f"SLA: {after.get('moment')} action {after.get('kind')} failed: {after.get('detail')}"
    return f"SLA: {action}"
