"""What a query asks about, and what a memory states, in the fact-slot vocabulary governance uses.

Governance reads a memory's *fact slot* (:mod:`engram.extract.slots`: residence, employer,
name, a preference, a decision, ...) to find the memory a new one supersedes. The same reading
tells the ranker what a memory is *about*, and a small cue table tells what a question *asks
about*: "What timezone is the user in?" asks about a place; "User is based in Singapore" fills
the residence slot, a place. The ``slot`` feature is 1 when a memory fills a slot of a topic the
query asks about; its weight is fitted with the others (``bench/retrieval.py``), on LoCoMo
turns and observations read the same way.

* **Topics** group slot attributes the way a question names them: residence and origin are a
  *place*; employer and occupation are *work*; favourites, likes, preferences, decisions and
  tools are a *preference*; and so on (:data:`ATTRIBUTE_TOPIC`).
* **What a memory is about**: the slots :func:`engram.extract.slots.read_slot` reads from each
  sentence of its text (a leading ``"Name:"`` speaker label dropped, a leading third-person
  name read as the subject, like "User"), plus the topic its type states (a ``preference`` or
  ``decision`` memory is about a preference, an ``identity`` memory about who the user is).
* **What a query asks about**: its words looked up in :data:`QUESTION_CUES` (whole lower-case
  words). A *request* ("Help me design a REST API", "Can you write ...", "Let's add ...": the
  first message of a session, a task) asks how the user wants the work done, so it asks about a
  *preference* — the preferences and decisions a session start injects for it. A query with no
  cue asks about no topic and every memory's feature is 0. (LoCoMo holds questions, no requests:
  the request rule changes no figure of ``make bench-retrieval``; the seed's session start is its
  test.)

Pure Python, cached per text; the memory side is only read when the query asks about a topic.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engram.extract.slots import read_slot

# slot attribute family (the part before ":") -> the topic a question names it by
ATTRIBUTE_TOPIC = {
    "residence": "place",
    "origin": "place",
    "name": "identity",
    "pronouns": "identity",
    "age": "identity",
    "employer": "work",
    "occupation": "work",
    "relationship": "relationship",
    "diet": "food",
    "allergy": "food",
    "favorite": "preference",
    "prefer": "preference",
    "likes": "preference",
    "decision": "preference",
    "tool": "preference",
    "goal": "goal",
    "plays": "hobby",
    "has": "possession",
    "count": "possession",
    "budget": "limit",
    "deadline": "limit",
    "limit": "limit",
    "salary": "limit",
    "rent": "limit",
}
# memory type -> the topic it states, whatever its words
TYPE_TOPIC = {"preference": "preference", "decision": "preference", "identity": "identity", "goal": "goal"}
# topic -> the words by which a question asks about it
QUESTION_CUES = {
    "place": "where timezone timezones zone city country countries location located live lives living based "
    "reside resides hometown address",
    "identity": "name named called who age old birthday pronouns",
    "work": "job jobs work works working occupation profession career employer company employed",
    "relationship": "married single relationship partner spouse wife husband boyfriend girlfriend dating",
    "food": "diet vegetarian vegan eat eats allergic allergy allergies",
    "preference": "like likes prefer prefers preference preferences favourite favorite favourites favorites fave "
    "style enjoy enjoys love loves choose chose chosen choice decide decided decision pick picked opinion taste",
    "goal": "goal goals plan plans planning want wants hope hopes dream dreams aspire aspires intend",
    "hobby": "hobby hobbies play plays sport sports instrument pastime",
    "possession": "own owns pet pets",
    "limit": "budget deadline salary rent limit",
}
# a request for work: it asks how the user wants things done
_REQUEST = re.compile(
    r"^\s*(?:please\s+)?(?:help|can you|could you|would you|let's|let us|i need|i want to|i'd like to|"
    r"write|design|build|create|make|implement|set up|draft|fix|add|refactor|review|suggest|recommend)\b",
    re.IGNORECASE,
)
_CUE = {word: topic for topic, words in QUESTION_CUES.items() for word in words.split()}
_WORD = re.compile(r"[a-z]+")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_SPEAKER = re.compile(r"^[A-Z][\w'-]*:\s*")  # "Caroline: I moved ..." -> "I moved ..."
_NAMED_SUBJECT = re.compile(r"^(?!I\b|I'|My\b|Our\b|We\b|The\b|This\b|That\b|It\b)[A-Z][a-z]+(?='s\b|\s)")


@lru_cache(maxsize=4096)
def query_topics(text: str) -> frozenset[str]:
    """The topics a query asks about (empty when it names none)."""
    topics = {_CUE[w] for w in _WORD.findall(text.lower()) if w in _CUE}
    if _REQUEST.search(text):
        topics.add("preference")
    return frozenset(topics)


@lru_cache(maxsize=65536)
def text_topics(text: str) -> frozenset[str]:
    """The topics of the fact slots the sentences of a memory's text fill."""
    found = set()
    for sentence in _SENTENCES.split(text):
        clause = _NAMED_SUBJECT.sub("User", _SPEAKER.sub("", sentence.strip()), count=1)
        if not clause:
            continue
        slot = read_slot(clause)
        if slot is not None:
            topic = ATTRIBUTE_TOPIC.get(slot.attribute.split(":", 1)[0])
            if topic:
                found.add(topic)
    return frozenset(found)


def memory_topics(text: str, kind: str = "") -> frozenset[str]:
    """The topics a memory is about: its slots' and its type's."""
    topics = text_topics(text)
    stated = TYPE_TOPIC.get(kind)
    return topics | {stated} if stated else topics
