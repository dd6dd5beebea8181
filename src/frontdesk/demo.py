"""Idempotent, realistic demo data for ``frontdesk demo``, written through the services.

Demo passwords are generated on first load and kept in FRONTDESK_HOME/demo-logins.json
(mode 0600), so nothing secret is in the repository and every run prints the same logins.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from frontdesk.accounts.models import Agent
from frontdesk.accounts.services import agent_create, group_get_or_create, token_create
from frontdesk.calendars.models import BusinessCalendar
from frontdesk.calendars.services import calendar_add_closed_day, calendar_create, calendar_set_special_hours
from frontdesk.csat.models import RatedVia
from frontdesk.csat.services import rating_record
from frontdesk.customers.models import Customer
from frontdesk.customers.services import customer_create, organization_create
from frontdesk.mail.models import Inbox
from frontdesk.tickets import services as tickets
from frontdesk.tickets.models import Channel, Status, Ticket

AGENTS = [
    ("admin@demo.frontdesk.test", "Ada Admin", "admin", []),
    ("sam@demo.frontdesk.test", "Sam Support", "agent", ["Support L1"]),
    ("tara@demo.frontdesk.test", "Tara Technical", "agent", ["Technical L2", "Support L1"]),
    ("bill@demo.frontdesk.test", "Bill Billing", "agent", ["Billing"]),
    ("lee@demo.frontdesk.test", "Lee Light", "light", ["Support L1"]),
]
GROUP_TIERS = {"Support L1": 1, "Billing": 1, "Technical L2": 2, "Engineering L3": 3}

CUSTOMERS = [
    ("Maria Lopez", "maria.lopez@example.com", "+34 612 345 678", "Europe/Madrid", "Premium", "Lopez Travel"),
    ("John Smith", "john.smith@example.org", "", "America/New_York", "Standard", None),
    ("Aiko Tanaka", "aiko@example.jp", "+81 90 1234 5678", "Asia/Tokyo", "Premium", "Lopez Travel"),
    ("Peter Novak", "peter.novak@example.cz", "", "Europe/Prague", "Standard", None),
    ("Fatima Khan", "fatima.khan@example.co.uk", "+44 7700 900123", "Europe/London", "Standard", None),
]

# (subject, customer index, group, first message, then: list of steps, final status)
TICKETS = [
    ("Charged twice for my March invoice", 0, "Billing",
     "Hi, my card was charged twice for invoice 2031 this month. Can you refund one?",
     [("reply", "Sorry about that, Maria! I can see both charges and have started the refund."),
      ("note", "Refund of 49.00 EUR issued in the billing system, ref RF-88213.")], Status.PENDING),
    ("App crashes when I upload a photo", 1, "Technical L2",
     "Every time I attach a photo from my phone the app closes. iPhone 15, latest version.",
     [("note", "Reproduced on iOS 18.1 with HEIC images; engineering ticket ENG-412.")], Status.ON_HOLD),
    ("How do I change my delivery address?", 2, "Support L1",
     "I moved last week. Where can I change the address for my next delivery?",
     [("reply", "You can change it under Account → Addresses; I've updated the next order for you."),
      ("customer", "Thank you, that worked!")], Status.SOLVED),
    ("Password reset email never arrives", 3, "Support L1",
     "I requested a reset three times but nothing arrives, not even in spam.", [], Status.NEW),
    ("Repair status for my tablet", 4, "Technical L2",
     "I sent my tablet for repair two weeks ago. Is there any news?",
     [("reply", "The depot received it on Friday; the screen is being replaced this week.")], Status.OPEN),
    ("Cancel my subscription", 1, "Billing",
     "Please cancel my subscription at the end of this period.",
     [("reply", "Done: your subscription ends on the 30th and you won't be charged again.")],
     Status.CLOSED),
]


def _logins_file():
    return settings.FRONTDESK_HOME / "demo-logins.json"


def _stored_logins() -> dict:
    path = _logins_file()
    return json.loads(path.read_text()) if path.exists() else {}


def _save_logins(logins: dict) -> None:
    path = _logins_file()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(logins, handle, indent=2)


def _ensure_agents(logins: dict) -> dict[str, Agent]:
    agents = {}
    for email, name, role, groups in AGENTS:
        for group in groups:
            group_get_or_create(name=group, tier=GROUP_TIERS[group])
        agent = Agent.objects.filter(email=email).first()
        if agent is None:
            password = logins.get(email, {}).get("password") or secrets.token_urlsafe(12)
            agent = agent_create(email=email, name=name, role=role, password=password, group_names=groups)
            logins[email] = {"name": name, "role": role, "password": password}
        agents[email] = agent
    for name, tier in GROUP_TIERS.items():
        group_get_or_create(name=name, tier=tier)
    return agents


def _ensure_customers() -> list[Customer]:
    customers = []
    organizations = {}
    for name, email, phone, tz, plan, org_name in CUSTOMERS:
        customer = Customer.objects.filter(contact_points__value=email).first()
        if customer is None:
            org = None
            if org_name:
                org = organizations.get(org_name) or organization_create(name=org_name, plan=plan)
                organizations[org_name] = org
            customer = customer_create(
                name=name, emails=[email], phones=[phone] if phone else [], time_zone=tz, plan=plan,
                organization=org, locale="en", preferences={"contact": "email"},
            )
        elif customer.organization:
            organizations[customer.organization.name] = customer.organization
        customers.append(customer)
    return customers


def _ensure_tickets(agents: dict[str, Agent], customers: list[Customer]) -> None:
    if Ticket.objects.filter(requester__in=customers).exists():
        return
    groups = {g.name: g for g in agents["tara@demo.frontdesk.test"].groups.all()}
    groups.update({g.name: g for g in agents["bill@demo.frontdesk.test"].groups.all()})
    responder = {"Billing": agents["bill@demo.frontdesk.test"],
                 "Technical L2": agents["tara@demo.frontdesk.test"],
                 "Support L1": agents["sam@demo.frontdesk.test"]}
    for subject, who, group_name, body, steps, final in TICKETS:
        customer = customers[who]
        agent = responder[group_name]
        ticket = tickets.ticket_create(
            subject=subject, requester=customer, body=body, channel=Channel.EMAIL,
            group=groups[group_name], tags=["demo"],
        )
        if final != Status.NEW:
            tickets.ticket_assign(ticket=ticket, actor=agent, assignee=agent)
        for kind, text in steps:
            if kind == "reply":
                tickets.ticket_reply(ticket=ticket, author=agent, body=text)
            elif kind == "note":
                tickets.ticket_add_note(ticket=ticket, author=agent, body=text)
            else:
                tickets.ticket_receive_customer_message(ticket=ticket, customer=customer, body=text)
        ticket.refresh_from_db()
        path = {Status.CLOSED: [Status.SOLVED, Status.CLOSED]}.get(final, [final])
        for status in path:
            if status != ticket.status:
                tickets.ticket_set_status(ticket=ticket, actor=agent, status=status)
                ticket.refresh_from_db()
    # Age the demo a little so lists have a realistic spread of times.
    for offset, ticket in enumerate(Ticket.objects.filter(requester__in=customers).order_by("pk")):
        moved = timezone.now() - timedelta(hours=6 * (len(TICKETS) - offset))
        Ticket.objects.filter(pk=ticket.pk).update(created_at=moved)


# Satisfaction ratings (frontdesk.csat) on the demo's solved and closed tickets.
RATINGS = {
    "How do I change my delivery address?": ("good", "Quick and friendly, thank you!"),
    "Cancel my subscription": ("bad", "It took three emails to get this done."),
}


def _ensure_ratings(customers: list[Customer]) -> None:
    for ticket in Ticket.objects.filter(requester__in=customers, subject__in=RATINGS, rating__isnull=True):
        score, comment = RATINGS[ticket.subject]
        rating_record(ticket=ticket, customer=ticket.requester, score=score, comment=comment, via=RatedVia.EMAIL)


def _ensure_inbox(agents: dict[str, Agent]) -> None:
    """The default inbox: mail to any address at the demo's SMTP listener lands here."""
    if not Inbox.objects.filter(is_default=True).exists():
        support = agents["sam@demo.frontdesk.test"].groups.get(name="Support L1")
        Inbox.objects.get_or_create(
            address="support@demo.frontdesk.test",
            defaults={"name": "Demo Support", "group": support, "from_name": "Demo Support", "is_default": True},
        )


def _ensure_sla(agents: dict[str, Agent]) -> None:
    """Standard (default calendar: Berlin business hours) and Premium (24/7) SLA policies and
    the paid "Expedited" one (24/7, routed to Technical L2), before the demo tickets are
    opened so their timers start."""
    from frontdesk.accounts.models import Group
    from frontdesk.calendars.selectors import calendar_default
    from frontdesk.sla.models import SlaPolicy
    from frontdesk.sla.policy_services import sla_policy_create

    if SlaPolicy.objects.exists():
        return
    admin, calendar = agents["admin@demo.frontdesk.test"], calendar_default()
    every = ("low", "normal", "high", "urgent")
    always = BusinessCalendar.objects.get(name="24/7")  # from _ensure_calendars
    sla_policy_create(
        actor=admin, name="Standard", is_default=True, calendar_id=calendar.pk,
        targets={"first_response": dict.fromkeys(every, 1440), "next_response": dict.fromkeys(every, 1440),
                 "resolution": {"low": 4800, "normal": 4800, "high": 2400, "urgent": 960}},
        warning_actions=[{"kind": "notify"}], breach_actions=[{"kind": "notify"}],
    )
    sla_policy_create(
        actor=admin, name="Premium", position=10, calendar_id=always.pk, conditions={"plans": ["premium"]},
        targets={"first_response": {"low": 240, "normal": 120, "high": 60, "urgent": 30},
                 "next_response": {"low": 240, "normal": 120, "high": 60, "urgent": 30},
                 "resolution": {"low": 1920, "normal": 960, "high": 480, "urgent": 240}},
        warning_actions=[{"kind": "notify"}],
        breach_actions=[{"kind": "notify"}, {"kind": "raise_priority"}, {"kind": "add_tag", "tag": "sla-missed"}],
    )
    tier2 = Group.objects.filter(name="Technical L2").first()
    sla_policy_create(
        actor=admin, name="Expedited", position=1, is_expedited=True, calendar_id=always.pk,
        targets={"first_response": dict.fromkeys(every, 30), "next_response": dict.fromkeys(every, 60),
                 "resolution": dict.fromkeys(every, 480)},
        warning_actions=[{"kind": "notify"}], breach_actions=[{"kind": "notify"}, {"kind": "raise_priority"}],
        expedite_group_id=tier2.pk if tier2 else None, expedite_price="49.00", expedite_currency="EUR",
    )


def _ensure_calendars() -> None:
    """Business calendars through the services: Berlin support hours with German holidays
    (the default: SLA and reminders count business time on it) and a 24/7 one."""
    if not BusinessCalendar.objects.filter(name="Support hours (Berlin)").exists():
        berlin = calendar_create(
            name="Support hours (Berlin)", time_zone="Europe/Berlin", country="DE", subdivision="BE",
            hours=[(day, start, end) for day in range(5) for start, end in (("08:30", "12:30"), ("13:30", "17:30"))],
            is_default=not BusinessCalendar.objects.filter(is_default=True).exists(),
        )
        year = timezone.now().year
        calendar_add_closed_day(calendar=berlin, date=date(year, 12, 24), label="Christmas Eve")
        calendar_add_closed_day(calendar=berlin, date=date(year, 12, 31), label="New Year's Eve")
        calendar_set_special_hours(calendar=berlin, date=date(year, 12, 23), hours=[("09:00", "13:00")],
                                   label="Short day before Christmas")
    if not BusinessCalendar.objects.filter(name="24/7").exists():
        calendar_create(name="24/7", time_zone="UTC", always_open=True)


def _ensure_goodwill(agents: dict[str, Agent]) -> None:
    """Goodwill: rates, mandates, a small catalog with a voucher pool, one gesture granted and
    one waiting for approval. Credits are manual tasks for Billing here: point them at your
    back-office by giving them a webhook endpoint in the admin."""
    from decimal import Decimal

    from frontdesk.accounts.models import Group
    from frontdesk.goodwill.models import ExchangeRate, Gesture, Grant, Mandate, Voucher
    from frontdesk.goodwill.services import gesture_grant

    if Gesture.objects.exists():
        return
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.92"))
    ExchangeRate.objects.create(currency="GBP", rate=Decimal("1.17"))
    billing = Group.objects.get(name="Billing")
    Mandate.objects.create(role="agent", currency="EUR", max_per_gesture=Decimal("50"),
                           max_per_customer=Decimal("100"), monthly_budget=Decimal("300"))
    Mandate.objects.create(group=billing, currency="EUR", max_per_gesture=Decimal("100"),
                           monthly_budget=Decimal("600"), group_monthly_budget=Decimal("2000"))
    Mandate.objects.create(agent=agents["tara@demo.frontdesk.test"], currency="EUR", max_per_gesture=Decimal("250"))
    voucher = Gesture.objects.create(
        name="Voucher 10 EUR", kind="voucher", currency="EUR", value=Decimal("10"), fulfilment="voucher_pool",
        expiry_days=90, snippet="As a small apology, here is a voucher for {amount} {currency}: {code} "
        "(valid until {expiry}).",
    )
    Voucher.objects.bulk_create([Voucher(gesture=voucher, code=f"DEMO-{secrets.token_hex(3).upper()}")
                                 for _ in range(20)])
    credit = Gesture.objects.create(
        name="Account credit", kind="account_credit", currency="EUR", min_value=Decimal("5"),
        max_value=Decimal("300"), fulfilment="manual", task_group=billing,
        snippet="Dear {name}, we have added {amount} {currency} to your account.",
    )
    Gesture.objects.create(name="Free shipping on next order", kind="free_shipment", currency="EUR",
                           value=Decimal("6.90"), fulfilment="manual", task_group=billing,
                           snippet="Your next delivery ships free, {name}.")
    Gesture.objects.create(name="Handwritten card", kind="personal_note", currency="EUR", value=Decimal("3"),
                           fulfilment="manual", task_agent=agents["sam@demo.frontdesk.test"],
                           snippet="We are sending you a little card by post.")
    charged = Ticket.objects.filter(subject="Charged twice for my March invoice").first()
    crash = Ticket.objects.filter(subject="App crashes when I upload a photo").first()
    if charged and not Grant.objects.exists():
        gesture_grant(ticket=charged, agent=agents["bill@demo.frontdesk.test"], gesture=voucher, value="10",
                      currency="EUR", reason="our_mistake", note="Double charge")
    if crash:
        gesture_grant(ticket=crash, agent=agents["tara@demo.frontdesk.test"], gesture=credit, value="25",
                      currency="EUR", reason="product_defect")
        sam = agents["sam@demo.frontdesk.test"]
        reset = Ticket.objects.filter(subject="Password reset email never arrives").first()
        if reset:
            gesture_grant(ticket=reset, agent=sam, gesture=credit, value="80", currency="EUR", reason="delay",
                          note="Locked out for a week")


def _ensure_followups(agents: dict[str, Agent], customers: list[Customer]) -> None:
    """Follow-ups demo: a Premium ladder override, a reminder and a scheduled reply, a snoozed
    ticket, check-ins for Premium. Once (the settings row marks it done)."""
    from frontdesk.followups import config as followup_config
    from frontdesk.followups import services as followups
    from frontdesk.followups.models import FollowUpKind, LadderPolicy, LadderScope

    admin = agents["admin@demo.frontdesk.test"]
    if LadderPolicy.objects.filter(scope=LadderScope.PLAN, plan="Premium").exists():
        return
    followup_config.ladder_policy_save(agent=admin, scope=LadderScope.PLAN, plan="Premium", first_reminder_days=1,
                                       second_reminder_days=3, solve_after_days=5)
    followup_config.followup_settings_update(agent=admin, check_in_enabled=True, check_in_days=3,
                                             check_in_plans=["Premium"])
    now = timezone.now()
    by_subject = {t.subject: t for t in Ticket.objects.filter(requester__in=customers)}
    tara, sam = agents["tara@demo.frontdesk.test"], agents["sam@demo.frontdesk.test"]
    if repair := by_subject.get("Repair status for my tablet"):
        followups.followup_create(ticket=repair, created_by=tara, due_at=now + timedelta(days=2),
                                  note="Check the depot finished the screen replacement")
        followups.followup_create(ticket=repair, created_by=tara, due_at=now + timedelta(days=3),
                                  kind=FollowUpKind.SCHEDULED_SEND,
                                  body="Good news: your tablet is repaired and on its way back to you.")
    if crash := by_subject.get("App crashes when I upload a photo"):
        followups.followup_create(ticket=crash, created_by=tara, due_at=now + timedelta(minutes=2),
                                  note="Ask engineering about ENG-412")
    if reset := by_subject.get("Password reset email never arrives"):
        followups.ticket_snooze(ticket=reset, agent=sam, until=now + timedelta(hours=4),
                                note="waiting for the mail provider's answer")


DEMO_INCIDENT = "Card payments declined by our payment provider"


def _ensure_incident(agents: dict[str, Agent], customers: list[Customer]) -> None:
    """An incident opened from Maria's billing ticket, with her travel company's people and
    her companion on booking BK-7731 added as affected customers."""
    from frontdesk.incidents.models import AffectedSource, Incident
    from frontdesk.incidents.roster import RosterRow
    from frontdesk.incidents.services import (
        incident_add_organization,
        incident_add_people,
        incident_create_from_ticket,
        incident_set_status,
    )

    ticket = Ticket.objects.filter(requester=customers[0], subject="Charged twice for my March invoice").first()
    if ticket is None or Incident.objects.filter(title=DEMO_INCIDENT).exists():
        return
    bill = agents["bill@demo.frontdesk.test"]
    incident = incident_create_from_ticket(
        actor=bill, ticket=ticket, title=DEMO_INCIDENT, severity="major", on_status_page=True, owner=bill,
        description="Provider confirms a faulty fraud rule since this morning; duplicate captures are refunded.",
        public_description="Some card payments were declined or charged twice. Duplicate charges are refunded "
                           "automatically within 3 days.",
    )
    incident_set_status(incident=incident, actor=bill, status="identified")
    if customers[0].organization:
        incident_add_organization(incident=incident, organization=customers[0].organization, actor=bill)
    incident_add_people(incident=incident, actor=bill, source=AffectedSource.API, rows=[
        RosterRow(email="maria.lopez@example.com", group_key="BK-7731"),
        RosterRow(email="luis.lopez@example.com", name="Luis Lopez", group_key="BK-7731", external_id="PAX-2"),
    ])


def _ensure_incident_update(agents: dict[str, Agent]) -> None:
    """One update on the demo incident, to every affected customer and the status page."""
    from frontdesk.incidents.broadcasts import broadcast_post
    from frontdesk.incidents.models import Broadcast, Incident

    incident = Incident.objects.filter(title=DEMO_INCIDENT).first()
    if incident is None or Broadcast.objects.filter(incident=incident).exists():
        return
    broadcast_post(
        incident=incident, actor=agents["bill@demo.frontdesk.test"], on_status_page=True,
        body="Hello {name}, our payment provider has switched off the faulty fraud rule: card payments work "
             "again. Any duplicate charge is refunded automatically within 3 days; nothing to do on your side.",
    )


@transaction.atomic
def load_demo() -> dict:
    """Create the demo (once) and return the logins, including a fresh API token."""
    logins = _stored_logins()
    agents = _ensure_agents(logins)
    customers = _ensure_customers()
    _ensure_calendars()  # before the SLA policies that run on them
    _ensure_sla(agents)
    _ensure_tickets(agents, customers)
    _ensure_ratings(customers)
    _ensure_inbox(agents)
    _ensure_goodwill(agents)
    _ensure_followups(agents, customers)
    _ensure_incident(agents, customers)
    _ensure_incident_update(agents)
    if "api_token" not in logins:
        logins["api_token"] = token_create(agent=agents["admin@demo.frontdesk.test"], name="demo")
    _save_logins(logins)
    return logins


def print_welcome(*, base_url: str, logins: dict, smtp: str) -> None:
    print("\nFrontdesk demo is ready.\n")
    print(f"  Workspace    {base_url}/desk/  (agents: log in below)")
    print(f"  Help center  {base_url}/help/  (customers: contact form, no login)")
    print(f"  API docs     {base_url}/api/v1/docs")
    print(f"  OpenAPI      {base_url}/api/v1/openapi.json")
    print(f"  Admin        {base_url}/admin/")
    print(f"  Incidents    {base_url}/desk/incidents/")
    print(f"  Status page  {base_url}/help/status")
    print(f"  Health       {base_url}/healthz")
    print(f"  Email in     smtp://{smtp} (any recipient; e.g. swaks or Python's smtplib)")
    print(f"  Email out    {settings.FRONTDESK_HOME / 'outbox'} (no relay configured)\n")
    print("  Logins (also in FRONTDESK_HOME/demo-logins.json):")
    for email, login in logins.items():
        if isinstance(login, dict):
            print(f"    {login['role']:<6} {email:<30} {login['password']}")
    print(f"\n  API token (admin): {logins['api_token']}")
    print(f'  Try: curl -H "Authorization: Bearer {logins["api_token"]}" {base_url}/api/v1/tickets\n',
          flush=True)
