"""Who sees an approver's email: it carries the approver's signed link (a credential, RELIABILITY
rule 4) and is mail to one of our people, not part of the customer's conversation. So it is never
listed with the ticket's emails (API) or on the ticket page, whoever asks; administrators find
it in the outbox (admin: Email → Outbound messages), and nobody else enters the admin site."""

from __future__ import annotations

import pytest

from frontdesk.mail.models import OutboundKind, OutboundMessage, OutboundStatus
from frontdesk.tickets.services import ticket_reply
from tests.conftest import run_tasks
from tests.desk.conftest import client_for
from tests.mail.helpers import RecordingRelay

pytestmark = pytest.mark.django_db(transaction=True)

LINK = "/desk/approvals/link/"


@pytest.fixture
def approval_mail(settings, ticket, agent, supervisor, credit):
    from frontdesk.goodwill.services import gesture_grant

    relay = RecordingRelay().start()
    settings.FRONTDESK_SMTP_URL = relay.url
    settings.FRONTDESK_BASE_URL = "http://testserver"
    try:
        ticket_reply(ticket=ticket, author=agent, body="We are looking into the double charge.")
        gesture_grant(ticket=ticket, agent=agent, gesture=credit, value="120", currency="EUR", reason="outage")
        run_tasks()
    finally:
        relay.stop()
    outbound = OutboundMessage.objects.get(kind=OutboundKind.AGENT)
    assert outbound.status == OutboundStatus.SENT and LINK in outbound.body_text  # the mail is real
    return outbound


def test_an_outsider_sees_no_emails_of_the_ticket(approval_mail, ticket, outsider, api_as):
    assert api_as(outsider).get(f"/tickets/{ticket.reference}/emails").status_code == 404


@pytest.mark.parametrize("who", ["agent", "light", "supervisor", "admin"])
def test_the_ticket_lists_the_customer_mail_but_never_the_approval_email(approval_mail, ticket, api_as, who,
                                                                         request):
    person = request.getfixturevalue(who)
    response = api_as(person).get(f"/tickets/{ticket.reference}/emails")
    assert response.status_code == 200
    outbound = response.json()["outbound"]
    assert [m["kind"] for m in outbound] == ["reply"]
    assert approval_mail.message_id not in response.content.decode()
    assert LINK not in response.content.decode() and "Approval needed" not in response.content.decode()

    page = client_for(person).get(f"/desk/tickets/{ticket.reference}/")
    assert page.status_code == 200 and LINK not in page.content.decode()


def test_administrators_find_it_in_the_outbox_and_no_one_else_does(approval_mail, agent, supervisor, admin):
    changelist = "/admin/mail/outboundmessage/"
    change = f"/admin/mail/outboundmessage/{approval_mail.pk}/change/"
    listed = client_for(admin).get(changelist, {"kind": "agent"})
    assert listed.status_code == 200 and "Approval needed" in listed.content.decode()
    assert client_for(admin).get(change).status_code == 200
    for person in (agent, supervisor):  # the approver too: their link is in their own mailbox
        for path in (changelist, change):
            response = client_for(person).get(path)
            assert response.status_code == 302 and "/login/" in response["Location"]
