"""Sign-in, sign-out, throttling, password change and two-factor sign-in at /desk/."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sam(agent):
    agent.set_password(PASSWORD)
    agent.save()
    return agent


def sign_in(client, email="sam@example.com", password=PASSWORD, **extra):
    return client.post("/desk/login/", {"username": email, "password": password, **extra})


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits) + offset:06d}"[-6:]


def confirmed_device(agent) -> TOTPDevice:
    return TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)


def test_it_sends_anonymous_visitors_to_the_login_page_with_next(client, db):
    for path in ["/desk/", "/desk/views/unassigned/", "/desk/search/?q=x", "/desk/account/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/desk/login/?next=")


def test_it_signs_in_and_follows_next(client, sam):
    response = sign_in(client, next="/desk/views/pending/")
    assert response.status_code == 302
    assert response["Location"] == "/desk/views/pending/"
    assert client.get("/desk/views/pending/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/desk/", "//evil.example/", "javascript:alert(1)"])
def test_it_ignores_a_next_pointing_off_site(client, sam, target):
    response = sign_in(client, next=target)
    assert response["Location"] == "/desk/"


def test_it_refuses_a_wrong_password_with_a_clear_error(client, sam):
    response = sign_in(client, password="wrong password")
    assert response.status_code == 200
    assert b"Please enter a correct email and password" in response.content
    assert client.get("/desk/").status_code == 302


def test_it_refuses_a_deactivated_agent(client, sam):
    sam.is_active = False
    sam.save()
    response = sign_in(client)
    assert response.status_code == 200
    assert client.get("/desk/").status_code == 302


def test_it_signs_out_a_deactivated_agents_open_session(client, sam):
    sign_in(client)
    sam.is_active = False
    sam.save()
    assert client.get("/desk/").status_code == 302


def test_it_throttles_five_failures_per_username(client, sam):
    for _ in range(5):
        assert sign_in(client, password="nope nope nope").status_code == 200
    response = sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert 800 < int(response["Retry-After"]) <= 15 * 60 + 1
    assert b"Too many failed attempts. Try again in 15 minutes." in response.content
    # Another address is refused too: the limit is on the username.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert sign_in(other).status_code == 429


def test_it_lets_a_throttled_username_in_once_the_window_passed(client, sam, monkeypatch):
    for _ in range(5):
        sign_in(client, password="nope nope nope")
    later = time.time() + 15 * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert sign_in(client)["Location"] == "/desk/"


def test_it_throttles_one_address_trying_many_usernames(client, db):
    for number in range(20):
        assert sign_in(client, email=f"nobody{number}@example.com").status_code == 200
    response = sign_in(client, email="someone-else@example.com")
    assert response.status_code == 429
    assert Client(REMOTE_ADDR="10.1.2.3").post(
        "/desk/login/", {"username": "someone-else@example.com", "password": "x"}
    ).status_code == 200


def test_it_forgives_failures_after_a_successful_sign_in(client, sam):
    for _ in range(4):
        sign_in(client, password="nope nope nope")
    sign_in(client)
    client.post("/desk/logout/")
    for _ in range(4):
        assert sign_in(client, password="nope nope nope").status_code == 200


def test_it_signs_out_by_post_only(client, sam):
    sign_in(client)
    assert client.get("/desk/logout/").status_code == 405
    assert client.get("/desk/").status_code == 200
    assert client.post("/desk/logout/")["Location"] == "/desk/login/"
    assert client.get("/desk/").status_code == 302


def test_it_ends_the_agents_other_sessions_when_the_password_changes(sam):
    laptop, phone = Client(), Client()
    sign_in(laptop)
    sign_in(phone)
    assert phone.get("/desk/").status_code == 200
    response = laptop.post("/desk/account/password/", {
        "old_password": PASSWORD, "new_password1": "a new long passphrase", "new_password2": "a new long passphrase",
    })
    assert response["Location"] == "/desk/account/"
    assert laptop.get("/desk/").status_code == 200  # this session goes on
    assert phone.get("/desk/").status_code == 302  # the other one is signed out
    assert sign_in(Client(), password="a new long passphrase")["Location"] == "/desk/"


def test_it_refuses_a_password_change_without_the_old_password(client, sam):
    sign_in(client)
    response = client.post("/desk/account/password/", {
        "old_password": "wrong", "new_password1": "a new long passphrase", "new_password2": "a new long passphrase",
    })
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content


def test_it_asks_for_a_code_after_the_password_when_the_agent_has_an_authenticator(client, sam):
    device = confirmed_device(sam)
    response = sign_in(client, next="/desk/views/solved/")
    assert response["Location"] == "/desk/login/verify/"
    # Not signed in yet: no page, and the session holds no authenticated agent.
    assert client.get("/desk/").status_code == 302
    assert "_auth_user_id" not in client.session
    page = client.get("/desk/login/verify/")
    assert b"sam@example.com" in page.content
    wrong = client.post("/desk/login/verify/", {"code": code_for(device, offset=3)})
    assert b"That code is not valid." in wrong.content
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a failure
    response = client.post("/desk/login/verify/", {"code": code_for(device)})
    assert response["Location"] == "/desk/views/solved/"
    assert client.get("/desk/").status_code == 200


def test_it_refuses_a_code_used_twice(client, sam):
    device = confirmed_device(sam)
    sign_in(client)
    code = code_for(device)
    client.post("/desk/login/verify/", {"code": code})
    client.post("/desk/logout/")
    sign_in(client)
    response = client.post("/desk/login/verify/", {"code": code})
    assert b"That code is not valid." in response.content


def test_it_asks_for_the_code_when_signed_in_with_a_password_elsewhere(client, sam):
    confirmed_device(sam)
    client.force_login(sam)  # e.g. through /admin/login/
    response = client.get("/desk/views/pending/")
    assert response["Location"] == "/desk/login/verify/?next=%2Fdesk%2Fviews%2Fpending%2F"


def test_it_enrols_an_authenticator_from_the_account_page(client, sam):
    sign_in(client)
    page = client.get("/desk/account/two-factor/")
    assert b'src="data:image/svg+xml' in page.content
    device = TOTPDevice.objects.get(user=sam, confirmed=False)
    secret = page.context["secret"].replace(" ", "")
    assert secret and len(secret) == 32
    assert client.get("/desk/account/two-factor/").context["secret"].replace(" ", "") == secret  # stable
    assert b"That code is not valid" in client.post("/desk/account/two-factor/", {"code": "000000"}).content
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post("/desk/account/two-factor/", {"code": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/desk/").status_code == 200  # this session counts as verified
    client.post("/desk/logout/")
    assert sign_in(client)["Location"] == "/desk/login/verify/"


def test_it_turns_two_factor_off_with_a_current_code(client, sam):
    device = confirmed_device(sam)
    sign_in(client)
    client.post("/desk/login/verify/", {"code": code_for(device)})
    device.refresh_from_db()
    device.last_t -= 1  # let the same time step count once more for this test
    device.save()
    response = client.post("/desk/account/two-factor/", {"action": "remove", "code": code_for(device)})
    assert response["Location"] == "/desk/account/"
    assert not TOTPDevice.objects.filter(user=sam).exists()


def test_it_sends_an_agent_who_must_use_two_factor_to_enrolment_first(client, sam):
    sam.requires_two_factor = True
    sam.save()
    response = sign_in(client, next="/desk/views/pending/")
    assert response["Location"] == "/desk/account/two-factor/"
    assert client.get("/desk/").status_code == 302  # nothing else before enrolment
    page = client.get("/desk/account/two-factor/")
    assert b"requires two-factor sign-in" in page.content
    device = TOTPDevice.objects.get(user=sam, confirmed=False)
    response = client.post("/desk/account/two-factor/", {"code": code_for(device)})
    assert response["Location"] == "/desk/views/pending/"
    assert client.get("/desk/views/pending/").status_code == 200
    # Required: it cannot be turned off.
    assert b"cannot be turned off" in client.get("/desk/account/two-factor/").content


def test_it_requires_two_factor_for_everyone_with_the_setting(client, sam, settings):
    settings.FRONTDESK_REQUIRE_2FA = True
    assert sign_in(client)["Location"] == "/desk/account/two-factor/"
    other = Client()
    other.force_login(sam)  # a password-only session from elsewhere
    assert other.get("/desk/")["Location"] == "/desk/account/two-factor/"


def test_it_forgets_a_half_finished_sign_in_after_five_minutes(client, sam, monkeypatch):
    confirmed_device(sam)
    sign_in(client)
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/desk/login/verify/")["Location"] == "/desk/login/"


def test_it_throttles_wrong_codes_like_wrong_passwords(client, sam):
    device = confirmed_device(sam)
    sign_in(client)
    for _ in range(5):
        device.refresh_from_db()
        device.throttle_reset()
        client.post("/desk/login/verify/", {"code": code_for(device, offset=7)})
    response = client.post("/desk/login/verify/", {"code": code_for(device)})
    assert response.status_code == 429
