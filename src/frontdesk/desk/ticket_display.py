"""How the ticket page shows messages and timeline events: presentation only, no rules.

Customer content is hostile wherever shown. Message HTML was sanitized when it was stored;
it is sanitized again here before it is marked safe (cheap, and a row written by some
future path that forgot to sanitize still renders inert). Everything else is escaped by
the templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import nh3
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from frontdesk.accounts.models import Agent, Role
from frontdesk.core.text import URL_SCHEMES, text_to_html
from frontdesk.desk import html
from frontdesk.desk.followup_display import FOLLOWUP_EVENT_KINDS, describe_followup_event
from frontdesk.desk.people import People
from frontdesk.mail.quotes import visible_text
from frontdesk.sla.display import describe_sla_event
from frontdesk.tickets.models import EventKind, Message, Priority, Status, TicketEvent

# Images load only from our own attachment downloads (inline cid: images are rewritten to these
# when mail is stored). Any other src, even a relative one, would make the agent's browser send
# a request of the customer's choosing with the agent's cookies; it is dropped.
_OWN_IMAGE = re.compile(r"^/(?:api/v1|desk)/attachments/[0-9a-fA-F-]{36}/?$")


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute in {"src", "srcset"}:
        return value if attribute == "src" and _OWN_IMAGE.match(value) else None
    return value


def display_html(stored_html: str) -> SafeString:
    """Stored (already sanitized) message HTML, sanitized again for this page and marked safe."""
    clean = nh3.clean(stored_html, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow",
                      attribute_filter=_keep_attribute)
    return mark_safe(clean)  # noqa: S308 - nh3's allow-list output


@dataclass
class MessageView:
    message: Message
    body: SafeString  # what is shown first
    history: SafeString | None  # the full message, folded, when quoted history was cut off
    is_new: bool = False

    @property
    def pk(self) -> int:
        return self.message.pk

    @property
    def html(self) -> SafeString:
        """The message's ``<li>`` in the conversation (built here, not by an include per
        message: a long conversation cost the template engine a few milliseconds)."""
        msg = self.message
        if not msg.is_public:
            kind_class, kind = "message-note", "Internal note"
        elif msg.author_customer_id:
            kind_class, kind = "message-customer", "Customer"
        elif msg.automatic:
            kind_class, kind = "message-reply message-automatic", format_html("Automatic · {}", msg.automatic)
        else:
            kind_class, kind = "message-reply", "Public reply"
        history = format_html(
            '\n    <details class="message-history">\n'
            "      <summary>Show the full message with quoted history</summary>\n"
            '      <div class="message-body">{}</div>\n'
            "    </details>", self.history,
        ) if self.history else ""
        files = msg.attachments.all()
        attachments = format_html(
            '\n    <ul class="attachments" aria-label="Attachments">\n      {}\n    </ul>',
            mark_safe("".join(  # noqa: S308 - format_html parts
                format_html('<li><a href="{}" download>{}</a> <span class="muted">{}</span></li>',
                            reverse("desk:attachment", args=[a.public_id]), a.filename, filesizeformat(a.size))
                for a in files
            )),
        ) if files else ""
        author = msg.author_label
        return format_html(
            '<li id="m{pk}" data-message-id="{pk}"\n'
            '    data-author="{author}"\n'
            '    data-from-customer="{from_customer}"\n'
            '    class="message {kind_class}{new_class}">\n'
            '  <article aria-labelledby="m{pk}-head">\n'
            '    <header class="message-head" id="m{pk}-head">\n'
            '      <span class="message-kind">{kind}</span>\n'
            '      <strong class="message-author">{author}</strong>\n'
            '      <time datetime="{iso}">{when}</time>\n'
            "      {new_badge}\n"
            "    </header>\n"
            '    <div class="message-body">{body}</div>{history}{attachments}\n'
            "  </article>\n"
            "</li>",
            pk=msg.pk, author=author, from_customer="1" if msg.author_customer_id else "0",
            kind_class=kind_class, new_class=" is-new" if self.is_new else "", kind=kind,
            iso=html.date_c(msg.created_at), when=html.date_short(msg.created_at, year=True),
            new_badge=mark_safe('<span class="badge badge-new">New</span>') if self.is_new else "",
            body=self.body, history=history, attachments=attachments,
        )


def message_view(message: Message, *, is_new: bool = False) -> MessageView:
    full = display_html(message.body_html)
    if message.author_customer_id:
        # Text made from HTML mail has no ">" marks (the history was a blockquote): there an
        # attribution line alone ends the reply, as the mail parser does it.
        visible = visible_text(message.body_text, quotes_marked="<blockquote" not in message.body_html)
        if visible.strip() != message.body_text.strip():
            # text_to_html escapes: the customer's words, never markup.
            return MessageView(message, mark_safe(text_to_html(visible)), full, is_new)  # noqa: S308
    return MessageView(message, full, None, is_new)


def message_views(messages: Iterable[Message], *, new_after: int | None = None) -> list[MessageView]:
    return [
        message_view(m, is_new=new_after is not None and m.pk > new_after) for m in messages
    ]



def group_options(people: People) -> list[tuple[int, str]]:
    """(id, text) choices of the side panel's group field."""
    return [(pk, f"{name} (tier {tier})") for pk, name, tier in people.groups]


def assignee_options(people: People, *, ticket) -> list[tuple[int, str]]:
    """(id, text) choices of the side panel's assignee field: active full agents; one outside
    the ticket's group is marked (they must join it first)."""
    options = []
    for pk, name, _email, role, is_active in people.agents:
        if not is_active or role == Role.LIGHT:
            continue
        outside = ticket.group_id is not None and ticket.group_id not in people.memberships.get(pk, frozenset())
        options.append((pk, f"{name} (not in {ticket.group.name})" if outside else name))
    return options


def options_html(options: Iterable[tuple], *, selected, empty: str | None = None) -> SafeString:
    """The ``<option>`` elements of a side-panel select, ``selected`` marked; ``empty``: the text
    of a "none" choice (selected when ``selected`` is empty)."""
    return html.options_html(options, is_selected=lambda value: value == selected,
                             empty=(empty, not selected) if empty is not None else None)


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _agent_name(emails: dict[str, str], email: str | None) -> str:
    return emails.get(email or "", email or "")


def describe(event: TicketEvent, *, agent_names: dict[str, str]) -> str:
    """One line saying what happened (without who: the template shows the actor)."""
    before, after, kind = event.before, event.after, event.kind
    if kind == EventKind.CREATED:
        return "created the ticket"
    if kind == EventKind.REPLY:
        return "replied to the customer"
    if kind == EventKind.CUSTOMER_MESSAGE:
        return "wrote a message"
    if kind == EventKind.NOTE:
        return "added an internal note"
    if kind == EventKind.STATUS:
        change = f"changed the status from {_label(Status, before)} to {_label(Status, after)}"
        if event.actor_customer_id and after == Status.SOLVED:  # "This solved my problem"
            return f"confirmed the problem is solved ({change})"
        return change
    if kind == EventKind.PRIORITY:
        return f"changed the priority from {_label(Priority, before)} to {_label(Priority, after)}"
    if kind == EventKind.GROUP:
        if not after:
            return f"removed the ticket from group {before}"
        return f"moved the ticket to group {after}" + (f" (from {before})" if before else "")
    if kind == EventKind.ASSIGNEE:
        if not after:
            return f"unassigned the ticket (was {_agent_name(agent_names, before)})"
        return f"assigned the ticket to {_agent_name(agent_names, after)}"
    if kind == EventKind.TAGS:
        added = sorted(set(after or []) - set(before or []))
        removed = sorted(set(before or []) - set(after or []))
        parts = ([f"added tags {', '.join(added)}"] if added else []) + (
            [f"removed tags {', '.join(removed)}"] if removed else []
        )
        return "; ".join(parts) or "changed the tags"
    if kind == EventKind.MERGED:
        return f"merged ticket {(after or {}).get('reference', '?')} into this one"
    if kind == EventKind.MERGED_INTO:
        return f"merged this ticket into {(after or {}).get('reference', '?')}"
    if kind == EventKind.FOLLOW_UP:
        return f"opened follow-up ticket {(after or {}).get('reference', '?')}"
    if kind in FOLLOWUP_EVENT_KINDS:
        return describe_followup_event(event)
    if kind == EventKind.DELIVERY and isinstance(after, dict):
        to = ", ".join(after.get("to") or [])
        error = f": {after['error']}" if after.get("error") else ""
        return f"email to {to}: {after.get('status', '?')}{error}"
    if kind == EventKind.GOODWILL and isinstance(after, dict) and after.get("summary"):
        return str(after["summary"])
    if kind == EventKind.SURVEY:
        return "sent the satisfaction survey"
    if kind == EventKind.SATISFACTION and isinstance(after, dict):
        now = _label_rating(after.get("rating"))
        rated = f"rated the support {now}"
        if isinstance(before, dict) and before.get("rating") != after.get("rating"):
            rated = f"changed the rating from {_label_rating(before.get('rating'))} to {now}"
        elif isinstance(before, dict):
            rated = f"changed the comment of their {now} rating"
        return f"{rated}: “{after['comment']}”" if after.get("comment") else rated
    if kind == EventKind.SLA and isinstance(after, dict):
        return describe_sla_event(after)
    if kind == EventKind.INCIDENT and isinstance(after, dict) and after.get("summary"):
        return str(after["summary"])
    return _label(EventKind, kind)


def _label_rating(value) -> str:
    return {"good": "Good", "bad": "Bad"}.get(value, str(value))


@dataclass
class EventView:
    event: TicketEvent
    text: str

    @property
    def html(self) -> SafeString:
        """The event's line in the timeline (one ``<li>``; the timeline has one per event, so it
        is built here rather than by the template engine)."""
        event = self.event
        link = format_html(' · <a href="#m{}">view</a>', event.message_id) if event.message_id else ""
        return format_html(
            '<li class="event event-{kind}" data-event-kind="{kind}">\n'
            '      <time datetime="{iso}">{when}</time>\n'
            "      <span><strong>{actor}</strong> {text}{link}</span>\n"
            "    </li>",
            kind=event.kind, iso=html.date_c(event.created_at), when=html.date_short(event.created_at),
            actor=event.actor_label, text=self.text, link=link,
        )


def event_views(events: Iterable[TicketEvent], *, people: People | None = None) -> list[EventView]:
    """``people`` (when the caller has it) names the agents of assignment events without a query."""
    events = list(events)
    emails = {
        value for e in events if e.kind == EventKind.ASSIGNEE for value in (e.before, e.after) if value
    }
    if people is not None:
        names = people.names_by_email
    else:
        names = dict(Agent.objects.filter(email__in=emails).values_list("email", "name")) if emails else {}
    return [EventView(e, describe(e, agent_names=names)) for e in events]
