"""What a query asks about, read once per search: its analysed terms, the names it mentions and
the dates it names.

* **Terms**: the analyser the BM25 index uses (:func:`engram.index.text.terms`), so coverage
  counts the same words BM25 matched.
* **Names**: Title-case words that are not the first word of the query, nor a month, a weekday
  or a common capitalised word ("When did *Caroline* go to the support group?", "Is *Singapore*
  far?"). All-capital acronyms (API, REST) are topics, not names, and are left to the text
  terms. A name is kept as its analysed term, so it is compared with memories the way BM25 does.
* **Dates**: explicit calendar mentions — "9 October, 2022", "October 9, 2022", "May 2023",
  "2022-10-09", a bare month ("in June") or a bare year ("in 2022") — each read as a period
  (a day, a month of a given or any year, a year). Relative phrases ("last week") are not
  read: they depend on when the question is asked, which a memory store does not know.

No dependency: dateutil's fuzzy parser returns one datetime with the missing fields filled from
a default, so "May 2023" and "1 May 2023" look alike, and dateparser's ``search_dates`` costs
more to import than a Lambda cold start can spare; the patterns below cover the mentions above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from engram.index.text import stem, terms

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mnum>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?!\s*(?:am|pm|%|:))", re.IGNORECASE),
    # A bare month must be capitalised and follow a preposition ("in May"; not "May I ask"),
    # a bare year must stand alone.
    re.compile(
        r"\b(?:in|on|during|since|until|till|by|before|after|early|late|mid|last|this|next|of)\s+(?P<month>"
        + "|".join(m.title() for m in MONTHS if len(m) > 3 or m == "may")
        + r")\b"
    ),
    re.compile(rf"(?<![\d:.-]){_YEAR}(?![\d:.-])"),
]
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
# Capitalised words that are not names of someone or somewhere the memories could lack.
_NOT_NAMES = {
    "i",
    "i'm",
    "i've",
    "i'd",
    "i'll",
    "user",
    "users",
    "assistant",
    "agent",
    "mr",
    "mrs",
    "ms",
    "dr",
    "today",
    "yesterday",
    "tomorrow",
} | _WEEKDAYS
_NAME_RE = re.compile(r"(?<![\w'])([A-Z][a-z]+)(?:'s|s')?(?![\w])")


@dataclass(frozen=True)
class Period:
    """A calendar period named by a query: a day, a month (of a year, or of any year), a year."""

    year: int | None
    month: int | None
    day: int | None

    def contains(self, when: date) -> bool:
        if self.year is not None and when.year != self.year:
            return False
        if self.month is not None and when.month != self.month:
            return False
        return self.day is None or when.day == self.day

    def near(self, when: date) -> bool:
        """Within the period or just after it: a mention of an event comes after the event
        ("what did she do in March?" is often told in April), so the period is read with one
        more unit of grace after it (a week for a day, a month for a month)."""
        if self.contains(when):
            return True
        if self.day is not None and self.month is not None and self.year is not None:
            delta = (when - date(self.year, self.month, self.day)).days
            return 0 <= delta <= 7
        if self.month is not None:
            following = self.month % 12 + 1
            year_ok = self.year is None or when.year == self.year + (1 if self.month == 12 else 0)
            return when.month == following and year_ok
        return False


@dataclass(frozen=True)
class QueryInfo:
    text: str
    terms: frozenset[str]
    names: tuple[str, ...]  # analysed terms of the names mentioned, in order, distinct
    periods: tuple[Period, ...]


def read_query(text: str) -> QueryInfo:
    return QueryInfo(text=text, terms=frozenset(terms(text)), names=names_in(text), periods=periods_in(text))


def names_in(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        for m in _NAME_RE.finditer(sentence):
            word = m.group(1)
            lowered = word.lower()
            if m.start() == 0 or lowered in _NOT_NAMES or lowered in MONTHS:
                continue
            term = stem(lowered)
            if term not in found:
                found.append(term)
    return tuple(found)


def periods_in(text: str) -> tuple[Period, ...]:
    found: list[Period] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            groups = m.groupdict()
            month = MONTHS.get(groups["month"].lower()) if groups.get("month") else None
            if groups.get("mnum"):
                month = int(groups["mnum"])
            day = int(groups["day"]) if groups.get("day") else None
            year = int(groups["year"]) if groups.get("year") else None
            if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
                continue
            taken.append((m.start(), m.end()))
            found.append(Period(year, month, day))
    return tuple(dict.fromkeys(found))


def day_of(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()
