"""Tickets probably about the same incident, ranked and explained, for one-click linking.

A ticket is a candidate when the agent may see it, it was opened since the incident started
(less an hour: people notice before we do), it is not linked yet and not merged away. It
scores for each of the incident's key words it contains (found through the ``search`` app's
index, so the words may be anywhere in the conversation; rarer words count more) and for each
tag it shares with the tickets already linked. Each suggestion says why ("words: payment,
declined · tag: billing · opened 20 min after the start").

Key words come from the incident's title and public description and the subjects of linked
tickets: the most frequent words of three letters or more that are not common English words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from frontdesk.accounts.models import Agent
from frontdesk.search.query import WORD, ParsedQuery, Term, fold
from frontdesk.search.selectors import ticket_search, tickets_by_ids
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.selectors import tickets_visible_to

from .models import Incident, IncidentTicket

WINDOW_BEFORE = timedelta(hours=1)
MAX_WORDS = 8
HITS_PER_WORD = 200
MAX_TAG_CANDIDATES = 500
STOP_WORDS = frozenset("""
a about after again all also am an and any are as at be because been before being but by can cannot
could did do does doing down during each few for from further had has have having he her here hers him
his how i if in into is it its just me more most my no nor not now of off on once only or other our out
over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who why will with would you your
hello please thanks thank help issue problem still again today yesterday get got getting any anyone
""".split())


@dataclass
class Suggestion:
    ticket: Ticket
    score: float
    words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    after_start: timedelta | None = None

    @property
    def explanation(self) -> str:
        parts = []
        if self.words:
            parts.append(("word: " if len(self.words) == 1 else "words: ") + ", ".join(self.words))
        if self.tags:
            parts.append(("tag: " if len(self.tags) == 1 else "tags: ") + ", ".join(self.tags))
        if self.after_start is not None:
            minutes = int(self.after_start.total_seconds() // 60)
            if minutes < 0:
                parts.append(f"opened {-minutes} min before the start")
            elif minutes < 120:
                parts.append(f"opened {minutes} min after the start")
            else:
                parts.append(f"opened {minutes // 60} h after the start")
        return " · ".join(parts)


def key_words(incident: Incident, linked_subjects: list[str]) -> list[str]:
    counts: Counter[str] = Counter()
    for weight, text in ((3, incident.title), (1, incident.public_description), *((2, s) for s in linked_subjects)):
        for word in {fold(w) for w in WORD.findall(text or "")}:
            if len(word) >= 3 and not word.isdigit() and word not in STOP_WORDS:
                counts[word] += weight
    return [word for word, _ in counts.most_common(MAX_WORDS)]


def _word_weight(hits: int) -> float:
    """A word found in few tickets says more than one found in hundreds."""
    return 3.0 if hits <= 10 else 2.0 if hits <= 50 else 1.0


def incident_suggestions(*, incident: Incident, agent: Agent, limit: int = 20) -> list[Suggestion]:
    """Up to ``limit`` tickets ``agent`` may see, best first (see the module docstring)."""
    since = incident.started_at - WINDOW_BEFORE
    links = IncidentTicket.objects.filter(incident=incident)
    linked_ids = set(links.values_list("ticket_id", flat=True))
    linked_subjects = list(Ticket.objects.filter(pk__in=list(linked_ids)[:50]).values_list("subject", flat=True))
    scores: dict[int, float] = defaultdict(float)
    words_of: dict[int, list[str]] = defaultdict(list)
    for word in key_words(incident, linked_subjects):
        query = ParsedQuery(text=word, terms=[Term(words=(word,))], after=since)
        ids, _, _ = ticket_search(agent=agent, query=query, limit=HITS_PER_WORD)
        for pk in ids:
            if pk not in linked_ids:
                scores[pk] += _word_weight(len(ids))
                words_of[pk].append(word)
    tags = set(Ticket.tags.through.objects.filter(ticket_id__in=linked_ids).values_list("tag__name", flat=True))
    tags_of: dict[int, list[str]] = defaultdict(list)
    if tags:
        pairs = (tickets_visible_to(agent=agent).filter(created_at__gte=since, tags__name__in=tags)
                 .exclude(pk__in=linked_ids).order_by("-pk").values_list("pk", "tags__name")[:MAX_TAG_CANDIDATES])
        for pk, tag in pairs:
            if tag in tags:
                scores[pk] += 2.0
                tags_of[pk].append(tag)
    best = sorted(scores, key=lambda pk: (-scores[pk], -pk))[: limit * 2]
    tickets = [t for t in tickets_by_ids(best) if t.merged_into_id is None][:limit]
    return [
        Suggestion(ticket=t, score=scores[t.pk], words=words_of[t.pk], tags=sorted(tags_of[t.pk]),
                   after_start=t.created_at - incident.started_at)
        for t in tickets
    ]
