"""``{% load desk_urls %}``: Django's ``{% url %}``, remembering what it reversed.

A workspace page reverses 30 to 50 URLs (the navigation, every form of the side panel, each
row's links); each ``reverse`` walks the URL resolver, about a tenth of the ticket page's CPU
(measured with bench/desk_pages.py). ``reverse`` is a pure function of its inputs, so the
result is kept per process, keyed by everything it depends on: the view name, the arguments,
the current app, the URLconf, the script prefix and the language. Arguments other than
strings, numbers and UUIDs (a model, a list) are reversed as before. Loading this library
replaces ``url`` in that template only; the syntax and output are Django's.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from django import template
from django.conf import settings
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=16384)
def _reverse(view_name, args: tuple, kwargs: tuple, current_app, urlconf, prefix: str, language) -> str:
    # ``prefix`` and ``language`` are in the key only: reverse reads the same thread-locals.
    return reverse(view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app)


_KEY_TYPES = (str, int, uuid.UUID)  # values whose equality means the same URL


def cached_reverse(view_name, *, args=(), kwargs=None, current_app=None) -> str:
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    kwargs = kwargs or {}
    if isinstance(view_name, str) and all(type(v) in _KEY_TYPES for v in (*args, *kwargs.values())):
        return _reverse(view_name, tuple(args), tuple(sorted(kwargs.items())), current_app, urlconf,
                        get_script_prefix(), get_language())
    return reverse(view_name, urlconf=urlconf, args=args, kwargs=kwargs, current_app=current_app)


class CachedURLNode(URLNode):
    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {key: value.resolve(context) for key, value in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
