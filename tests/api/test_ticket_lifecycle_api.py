"""The walk-through a new user does: create, reply, note, assign, solve, timeline, reopen."""


def test_it_runs_the_whole_ticket_lifecycle_over_the_api(api_as, agent, support):
    api = api_as(agent)

    customer = api.post("/customers", {"name": "Jo Doe", "emails": ["jo@example.com"]})
    assert customer.status_code == 201, customer.content
    customer_id = customer.json()["id"]

    created = api.post("/tickets", {
        "subject": "Router keeps rebooting", "body": "Since Monday, every hour.",
        "requester_id": customer_id, "group_id": support.pk, "channel": "email",
    })
    assert created.status_code == 201, created.content
    ref = created.json()["reference"]
    assert created.json()["status"] == "new"
    assert created.json()["messages"][0]["author_type"] == "customer"

    reply = api.post(f"/tickets/{ref}/replies", {"body": "Please try firmware 2.1."})
    assert reply.status_code == 201
    assert reply.json()["visibility"] == "public"
    note = api.post(f"/tickets/{ref}/notes", {"body": "Known issue FW-2.0"})
    assert note.json()["visibility"] == "internal"

    assigned = api.put(f"/tickets/{ref}/assignment", {"assignee_id": agent.pk})
    assert assigned.status_code == 200
    assert assigned.json()["assignee"]["email"] == agent.email

    solved = api.put(f"/tickets/{ref}/status", {"status": "solved"})
    assert solved.json()["status"] == "solved"

    reopened = api.post(f"/tickets/{ref}/customer-messages", {"body": "It happened again."})
    assert reopened.status_code == 201
    assert reopened.json()["author_type"] == "customer"

    detail = api.get(f"/tickets/{ref}").json()
    assert detail["status"] == "open"
    kinds = [event["kind"] for event in detail["timeline"]]
    assert kinds == [
        "created", "customer_message", "reply", "status", "note", "assignee", "status",
        "customer_message", "status",
    ]
    transitions = [(e["before"], e["after"]) for e in detail["timeline"] if e["kind"] == "status"]
    assert transitions == [("new", "open"), ("open", "solved"), ("solved", "open")]
    assert detail["timeline"][-1]["actor_type"] == "customer"
