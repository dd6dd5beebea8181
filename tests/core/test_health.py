from django.test import Client


def test_it_reports_database_and_queue(db):
    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["queue"] == {"ready": 0, "running": 0, "failed": 0, "workers": 0}


def test_it_answers_liveness_without_the_database():
    assert Client().get("/livez").content == b"ok"
