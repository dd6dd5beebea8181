"""``{% load desk_urls %}``: the workspace's ``{% url %}`` remembers what it reversed and
answers exactly as Django's tag does."""

from __future__ import annotations

import uuid

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, set_script_prefix


def both(source: str, **context) -> tuple[str, str]:
    django = Template(source).render(Context(context))
    cached = Template("{% load desk_urls %}" + source).render(Context(context))
    return django, cached


@pytest.mark.parametrize("source", [
    "{% url 'desk:inbox' %}",
    "{% url 'desk:ticket' ref %}",
    "{% url 'desk:ticket_change' ref 'assignee' %}",
    "{% url 'desk:ticket_change' reference=ref change='tags' %}",
    "{% url 'desk:attachment' public_id %}",
    "{% url 'desk:customer' 42 %}",
    "{% url 'desk:ticket' odd %}",
    "{% url 'desk:nothing' as missing %}[{{ missing }}]",
])
def test_it_answers_as_djangos_url_twice_over(source):
    values = {"ref": "AB3CD4EF", "public_id": uuid.UUID(int=7), "odd": "a&b c"}
    django, cached = both(source, **values)
    assert cached == django
    assert both(source, **values) == (django, django)  # the second time from its cache


def test_it_raises_as_django_does_for_an_unknown_name():
    with pytest.raises(NoReverseMatch):
        Template("{% load desk_urls %}{% url 'desk:nothing' %}").render(Context())


def test_it_keys_by_script_prefix():
    source = "{% load desk_urls %}{% url 'desk:inbox' %}"
    assert Template(source).render(Context()) == "/desk/"
    set_script_prefix("/support/")
    try:
        assert Template(source).render(Context()) == "/support/desk/"
    finally:
        set_script_prefix("/")
