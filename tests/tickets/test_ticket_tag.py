from frontdesk.tickets.services import ticket_tag


def test_it_adds_and_removes_tags_with_one_event(ticket, agent):
    ticket_tag(ticket=ticket, actor=agent, add=["refund", "VIP"], remove=["billing"])

    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    event = ticket.events.get(kind="tags")
    assert (event.before, event.after) == (["billing"], ["refund", "vip"])


def test_it_records_nothing_when_nothing_changes(ticket, agent):
    ticket_tag(ticket=ticket, actor=agent, add=["billing"])

    assert not ticket.events.filter(kind="tags").exists()
