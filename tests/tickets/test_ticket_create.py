import pytest

from frontdesk.core.errors import Forbidden, InvalidInput
from frontdesk.tickets.models import EventKind, Status, Visibility
from frontdesk.tickets.services import ticket_create


def test_it_opens_a_new_ticket_with_the_customers_first_message(customer, support):
    ticket = ticket_create(subject="Help", requester=customer, body="It broke.", group=support)

    assert ticket.status == Status.NEW
    assert len(ticket.reference) == 8 and ticket.reference != str(ticket.pk)
    message = ticket.messages.get()
    assert message.author_customer == customer and message.visibility == Visibility.PUBLIC
    assert list(ticket.events.values_list("kind", flat=True)) == [
        EventKind.CREATED, EventKind.CUSTOMER_MESSAGE,
    ]
    assert ticket.last_customer_message_at is not None


def test_it_starts_open_when_an_agent_writes_first(customer, agent):
    ticket = ticket_create(subject="Your order", requester=customer, body="Good news", author=agent)

    assert ticket.status == Status.OPEN
    assert ticket.messages.get().author_agent == agent


def test_it_refuses_a_light_agent_as_author(customer, light):
    with pytest.raises(Forbidden):
        ticket_create(subject="x", requester=customer, body="y", author=light)


def test_it_strips_line_breaks_from_subjects(customer):
    ticket = ticket_create(subject="Hello\r\nBcc: evil@example.com", requester=customer, body="b")

    assert ticket.subject == "Hello Bcc: evil@example.com"


def test_it_sanitizes_html_bodies(customer):
    ticket = ticket_create(
        subject="x", requester=customer, body="",
        body_html='<p onclick="steal()">Hi<script>alert(1)</script><img src=x onerror=alert(2)></p>',
    )
    message = ticket.messages.get()

    assert "script" not in message.body_html and "onerror" not in message.body_html
    assert "onclick" not in message.body_html
    assert message.body_text == "Hi"


def test_it_normalizes_tags_and_refuses_bad_ones(customer):
    ticket = ticket_create(subject="x", requester=customer, body="y", tags=["VIP", "vip", "Late Delivery"])
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["late-delivery", "vip"]

    with pytest.raises(InvalidInput):
        ticket_create(subject="x", requester=customer, body="y", tags=["<b>"])


def test_it_refuses_an_empty_body(customer):
    with pytest.raises(InvalidInput):
        ticket_create(subject="x", requester=customer, body="   ")


def test_it_writes_the_events_at_once_and_queues_one_sla_task_for_the_ticket(customer, support,
                                                                            django_assert_num_queries):
    from django_tasks_db.models import DBTaskResult

    # ticket, message, both events (one insert), the savepoint around it all; the SLA task joins
    # a waiting one or is inserted (a look-up and an insert in their own savepoint); no look-up
    # for a snooze or a scheduled reply the first message could end.
    with django_assert_num_queries(9):
        ticket = ticket_create(subject="Help", requester=customer, body="It broke.", group=support)

    tasks = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
    assert [path for path, _ in tasks] == ["frontdesk.sla.tasks.sla_on_ticket_events"]
    opening = ticket.events.get(kind=EventKind.CUSTOMER_MESSAGE)
    assert tasks[0][1]["kwargs"] == {"event_ids": [opening.pk]}  # the later event: SLA applies both

    # A second ticket while that task still waits joins it instead of queueing another.
    second = ticket_create(subject="More", requester=customer, body="Again.", group=support)
    [(path, arguments)] = DBTaskResult.objects.values_list("task_path", "args_kwargs")
    assert arguments["kwargs"]["event_ids"] == [opening.pk, second.events.get(kind=EventKind.CUSTOMER_MESSAGE).pk]


def test_it_keeps_the_ccs_event_after_created(customer, support):
    from frontdesk.customers.services import customer_create

    copied = customer_create(name="Ana", emails=["ana@example.org"])
    ticket = ticket_create(subject="x", requester=customer, body="y", ccs=[copied])

    assert list(ticket.events.order_by("id").values_list("kind", flat=True)) == [
        EventKind.CREATED, EventKind.CCS, EventKind.CUSTOMER_MESSAGE,
    ]
