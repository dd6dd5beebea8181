"""Collision awareness: who else has a ticket open, who is typing (desk/presence.py and its
endpoint /desk/tickets/<reference>/presence/)."""

from __future__ import annotations

import time

from frontdesk.desk import presence
from frontdesk.desk.presence import presence_beat, presence_leave, presence_others
from tests.desk.conftest import client_for


def test_it_tells_each_agent_who_else_is_on_the_ticket(ticket, agent, admin, light):
    assert presence_beat(ticket_id=ticket.pk, agent=agent) == []
    presence_beat(ticket_id=ticket.pk, agent=light, typing="note")

    others = presence_beat(ticket_id=ticket.pk, agent=admin)

    assert [(p.name, p.typing) for p in others] == [("Lee Light", "note"), ("Sam Support", "")]
    assert [p.name for p in presence_others(ticket_id=ticket.pk, agent=agent)] == ["Lee Light", "Ada Admin"]
    assert presence_others(ticket_id=ticket.pk + 1, agent=agent) == []  # per ticket


def test_it_forgets_an_agent_who_leaves_or_stops_beating(ticket, agent, admin, monkeypatch):
    presence_beat(ticket_id=ticket.pk, agent=agent)
    presence_beat(ticket_id=ticket.pk, agent=admin)
    presence_leave(ticket_id=ticket.pk, agent=admin)
    assert presence_others(ticket_id=ticket.pk, agent=agent) == []

    monkeypatch.setattr(presence, "PRESENCE_TTL", 1)
    presence_beat(ticket_id=ticket.pk, agent=admin)
    assert [p.name for p in presence_others(ticket_id=ticket.pk, agent=agent)] == ["Ada Admin"]
    time.sleep(1.2)
    assert presence_others(ticket_id=ticket.pk, agent=agent) == []


def test_it_ignores_unknown_typing_values(ticket, agent, admin):
    presence_beat(ticket_id=ticket.pk, agent=agent, typing="<script>")
    assert presence_others(ticket_id=ticket.pk, agent=admin)[0].typing == ""


def test_the_endpoint_answers_with_the_others_and_records_typing(ticket, agent, admin):
    sam, ada = client_for(agent), client_for(admin)
    path = f"/desk/tickets/{ticket.reference}/presence/"

    assert sam.post(path).content.decode().strip() == ""
    assert "Sam Support</strong>\n    is viewing this ticket" in ada.post(path).content.decode()
    sam.post(path, {"typing": "reply"})
    assert "is typing a reply" in ada.post(path).content.decode()
    sam.post(path, {"typing": "note"})
    assert "is typing a note" in ada.post(path).content.decode()

    assert sam.post(path, {"leave": "1"}).status_code == 204
    assert "Sam Support" not in ada.post(path).content.decode()


def test_the_page_shows_who_is_already_there(ticket, agent, admin):
    presence_beat(ticket_id=ticket.pk, agent=admin, typing="reply")
    page = client_for(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "Ada Admin</strong>\n    is typing a reply" in page


def test_the_endpoint_hides_tickets_like_the_page_does(ticket, outsider):
    client = client_for(outsider)
    assert client.post(f"/desk/tickets/{ticket.reference}/presence/").status_code == 404
    assert presence_others(ticket_id=ticket.pk, agent=outsider) == []
    assert client.get(f"/desk/tickets/{ticket.reference}/presence/").status_code == 405
