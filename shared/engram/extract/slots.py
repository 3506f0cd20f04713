"""Fact slots: what a memory says about whom, and whether a new memory replaces an old one.

A memory such as "User moved to Berlin last month" fills a *slot*: a subject (the user, or a
relative of theirs: "sister"), an attribute ("residence") and a value ("berlin"), with a
polarity ("I don't live in Boston anymore" is the residence slot, value boston, negated) and
whether the text itself says something changed ("moved", "now", "no longer", "instead").

:func:`compare` decides what a new memory means for an old one:

* ``supersedes`` - same subject and attribute, and either the attribute holds one value at a
  time (residence, employer, name, a favourite, a decision's topic) and the value differs, or
  the same value's polarity flipped ("I like sushi" -> "I don't like sushi anymore"), or the
  new text names the old value as replaced ("MySQL instead of Postgres");
* ``same`` - the same slot, value and polarity: a duplicate that reinforces the old memory;
* ``compatible`` - the same kind of fact that can hold alongside ("I like sushi", "I like ramen");
* ``unrelated`` - different subjects or attributes, or a text no slot pattern reads.

The confidence says how safe it is to act without asking: an explicit change ("moved to",
"now", "switched", "no longer") gives :data:`EXPLICIT_CHANGE`; two different values with no
change word ("I live in Toronto" then "I live in Montreal": a move, a correction or a
misreading) give :data:`IMPLICIT_CHANGE`, below :data:`AUTO_SUPERSEDE`, so a caller sends such
a pair to review instead of replacing the old memory. It is a table of English patterns, not a
model: what no pattern reads is ``unrelated`` (never a wrong supersede), which is the failure
mode a memory service can live with. ``bench/supersede.py`` measures it on hand-labelled pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from engram.extract.text import content_terms, normalize

Relation = Literal["supersedes", "same", "compatible", "unrelated"]

AUTO_SUPERSEDE = 0.8  # at or above: replace without review (unless the old memory is locked)
EXPLICIT_CHANGE = 0.9
REVERSED = 0.75  # a polarity flip with no change word: a correction, most likely
IMPLICIT_CHANGE = 0.6
WEAK_CHANGE = 0.5  # origin, tools: a second value is as likely an addition as a change

_KIN = (
    r"wife|husband|spouse|partner|girlfriend|boyfriend|fiance|fiancee|mom|mother|mum|dad|father|"
    r"parents|sister|brother|sibling|son|daughter|kids|children|child|baby|grandma|grandmother|"
    r"grandpa|grandfather|aunt|uncle|cousin|niece|nephew|friend|best friend|roommate|neighbou?r|"
    r"boss|manager|coworker|colleague|dog|cat"
)
_FILLER = re.compile(
    r"^(?:(?:well|oh|so|also|actually|honestly|anyway|btw|by the way|fyi|update|note|and|but|"
    r"yes|yeah|ok|okay|hey|hi)\b[\s,:;!.-]*)+"
)
_POSSESSIVE_SUBJECT = re.compile(
    r"^(?:my|our|(?:the )?user's)\s+(?:(?:older|younger|little|big|best)\s+)?(" + _KIN + r")\b('s)?"
)
_SELF_SUBJECT = (
    (re.compile(r"^(?:the )?user's\b"), "my"),
    (re.compile(r"^(?:the )?user\s+(?:is|was)\b"), "i am"),
    (re.compile(r"^(?:the )?user\s+has\b"), "i have"),
    (re.compile(r"^(?:the )?user\b"), "i"),
    (re.compile(r"^\w+ and i\b"), "we"),
    (re.compile(r"^i and \w+\b"), "we"),
)
# Words after which a value ends ("Berlin last month", "Google on the search team").
_VALUE_END = re.compile(
    r"\s+(?:last|next|this|since|for|with|because|and|but|so|as|on|in|at|by|from|to|until|"
    r"after|before|when|while|now|anymore|again|already|recently|too|these|lately|today|"
    r"yesterday|instead|over|than|which|who|where|though|although|originally|still|though)\b|"
    r"\s*[,;:.!?(]"
)
_CHANGE = re.compile(
    r"\b(?:now|moved|moving|relocat\w*|switch\w*|chang\w*|no longer|anymore|any more|these days|"
    r"nowadays|became|become|turned|joined|left|quit|started|new|instead|again|graduated|"
    r"got (?:married|divorced|engaged|separated)|just|recently|finally|from now on)\b"
)
_NUMBER_WORDS = {
    "a": "1",
    "an": "1",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_OCCUPATION_SUFFIX = re.compile(r"(?:er|or|ist|ian|ant|ent|eer|ive|ect|ic|ee)$")
_OCCUPATION_TEXT = """
    nurse student chef cook doctor lawyer judge pilot nanny maid clerk coach barista surgeon vet
    dentist artist architect scientist analyst accountant attorney freelancer contractor
    consultant intern professor principal
    """
_OCCUPATIONS = frozenset(_OCCUPATION_TEXT.split())


@dataclass(frozen=True, slots=True)
class FactSlot:
    """The slot a memory fills; see the module docstring."""

    subject: str  # "user", or the relative the fact is about ("sister")
    attribute: str  # "residence", "employer", "likes:sushi", "favorite:color", "decision:database"
    value: str  # normalised value ("berlin"); "" when the attribute carries it ("likes:sushi")
    polarity: bool = True  # False: negated ("don't live in", "don't like", "left")
    exclusive: bool = True  # one value at a time (residence) or many (likes, pets)
    change: bool = False  # the text says something changed ("moved", "now", "instead")
    replaces: str = ""  # an old value the text names as replaced ("instead of postgres")

    @property
    def key(self) -> str:
        """``subject|attribute``: the lookup key under which conflicting memories are found."""
        return f"{self.subject}|{self.attribute}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a new memory means for an old one, with how sure the rule is and why."""

    relation: Relation
    confidence: float
    reason: str

    @property
    def automatic(self) -> bool:
        """True when the new memory may replace the old one without review."""
        return self.relation == "supersedes" and self.confidence >= AUTO_SUPERSEDE


@dataclass(frozen=True, slots=True)
class _Pattern:
    attribute: str  # may contain {group} placeholders filled from named groups
    regex: re.Pattern[str]
    exclusive: bool = True
    change: bool = False  # the pattern itself is a change ("moved to")
    polarity: bool = True


# (attribute, pattern, flags) tried in order, the first match wins. Flags: "many" - the attribute
# holds many values (likes, pets); "change" - the pattern itself says something changed ("moved
# to"); "not" - the pattern negates the value ("don't like", "left"). The clause is lower-cased
# and in the first person ("User lives in" is read as "i lives in").
_I = r"(?:i|we)"
_I_AM = r"(?:i'm|i am|im|we're|we are|i is)"
_ADV = r"(?:\s+(?:still|now|currently|just|recently|finally|actually|also|really|happily|officially))*"
_VALUE = r"[a-z0-9$€£][\w$€£'./&+-]*(?:\s+[\w$€£'./&+-]+){0,5}"
_V = f"(?P<value>{_VALUE})"
_NUM = r"two|three|four|five|six|seven|eight|nine|ten|\d+"
_LIMIT = r"(?P<limit>budget|deadline|limit|salary|rent)"
_FAVOURITE = r"my\s+(?:favou?rite|fave)\s+(?P<category>\w+)"
_MOVE = r"\s+(?:moved|relocated|move|moving|relocating)\s+(?:back\s+)?to\s+"
_NEW_JOB = (
    r"\s+(?:joined|started(?:\s+a)?(?:\s+new)?(?:\s+job|\s+working)?\s+(?:at|with|for)|"
    r"got\s+a\s+(?:new\s+)?job\s+(?:at|with)|was hired\s+(?:at|by))\s+"
)
_LIMIT_CHANGE = r"\s+(?:moved|changed|was moved|got moved|went up|went down|increased|decreased|is now|was changed)"
_DECIDED = r"\b(?:decided|chose|chosen|picked|opted|agreed|will|'ll|are going|'re going|going)\s+(?:to\s+)?"
_DECISION_VERB = r"(?P<verb>use|go with|keep|stick with|learn|buy|adopt|switch to|move to)"
_NOT_LIKE = r"\s+(?:don't|do not|doesn't|does not|no longer|never|can't|cannot)\s+(?:really\s+)?"
_PATTERN_SPECS: tuple[tuple[str, str, str], ...] = (
    # residence: moves first, so "lived in X before moving to Y" reads the move
    ("residence", r"\b(?:i|we|before|after|then|and)" + _ADV + _MOVE + _V, "change"),
    ("residence", _I + r"\s+(?:don't|do not|no longer)\s+(?:live|lives)\s+(?:in|at|near)\s+" + _V, "change not"),
    ("residence", _I + _ADV + r"\s+(?:live|lives|reside|resides)\s+(?:in|at|near)\s+" + _V, ""),
    ("residence", _I_AM + _ADV + r"\s+(?:living|based|staying)\s+(?:in|out of|at)\s+" + _V, ""),
    ("residence", r"\bhome is" + _ADV + r"\s+(?:in\s+)?" + _V, ""),
    # origin: changes only by correction
    ("origin", _I_AM + r"(?:\s+originally)?\s+from\s+" + _V, ""),
    ("origin", _I + r"\s+(?:grew up|was born|were born)\s+in\s+" + _V, ""),
    # name and pronouns
    ("name", r"\bmy\s+(?:full\s+|first\s+)?name(?:'s|\s+is)" + _ADV + r"\s+" + _V, ""),
    ("name", r"\b(?:call me|i go by|" + _I_AM + r" called)\s+" + _V, ""),
    ("pronouns", r"\bmy pronouns are\s+" + _V, ""),
    # work
    ("employer", _I + _ADV + _NEW_JOB + _V, "change"),
    ("employer", _I + _ADV + r"\s+(?:left|quit)\s+(?:my\s+job\s+at\s+)?" + _V, "change not"),
    ("employer", _I + _ADV + r"\s+(?:work|works|am working|'m working)\s+(?:at|for)\s+" + _V, ""),
    ("employer", r"\bmy\s+(?:new\s+)?(?:employer|company)\s+is\s+" + _V, ""),
    ("occupation", r"\b(?:i\s+)?(?:work|works)\s+as\s+(?:a|an)\s+" + _V, ""),
    ("occupation", r"\bmy\s+(?:job|profession|occupation)\s+is\s+(?:a\s+|an\s+)?" + _V, ""),
    ("occupation", _I + r"(?:'ve| have)?\s+(?:became|become)\s+(?:a|an)\s+" + _V, "change"),
    ("occupation", _I_AM + _ADV + r"\s+(?:a|an)\s+(?P<occupation>" + _VALUE + ")", ""),
    # age and relationship status
    ("age", _I + r"\s+(?:just\s+)?turned\s+(?P<value>\d{1,3})\b", "change"),
    ("age", _I_AM + r"\s+(?P<value>\d{1,3})(?:\s+years?\s+old)?\b", ""),
    ("relationship", _I + _ADV + r"\s+got\s+(?P<value>married|divorced|engaged|separated)\b", "change"),
    (
        "relationship",
        _I_AM + _ADV + r"\s+(?P<value>married|single|divorced|engaged|widowed|separated|in a relationship)\b",
        "",
    ),
    # diet
    ("diet", _I_AM + _ADV + r"\s+(?:a\s+)?(?P<value>vegetarian|vegan|pescatarian|carnivore)\b", ""),
    ("diet", _I + _ADV + r"\s+eats?\s+(?P<value>meat)\b", ""),
    # favourites: one per category
    ("favorite:{category}", r"\b" + _FAVOURITE + r"\s+(?:is|are)" + _ADV + r"\s+" + _V, ""),
    ("favorite:{category}", r"^" + _V + r"\s+(?:is|are)" + _ADV + r"\s+" + _FAVOURITE, ""),
    # limits that hold one value
    ("{limit}", r"\b(?:my|our|the)\s+" + _LIMIT + _LIMIT_CHANGE + r"\s+(?:to\s+)?" + _V, "change"),
    ("{limit}", r"\b(?:my|our)\s+" + _LIMIT + r"\s+is" + _ADV + r"\s+" + _V, ""),
    # things that accumulate: allergies, goals, activities, possessions
    ("allergy:{value}", _I_AM + _ADV + r"\s+allergic\s+to\s+" + _V, "many"),
    ("goal:{value}", _I + _ADV + r"\s+(?:want|wanna|plan|hope|intend|would like|'d like)\s+to\s+" + _V, "many"),
    ("plays:{value}", _I + _ADV + r"\s+(?:play|plays|started playing|took up)\s+" + _V, "many"),
    ("has:{value}", _I + _ADV + r"\s+(?:have|has|got|adopted|bought)\s+(?:a|an)\s+" + _V, "many"),
    # how many of something
    ("count:{noun}", _I + r"\s+(?:have|has|'ve got)\s+(?P<value>" + _NUM + r")\s+(?P<noun>\w+)", ""),
    # decisions: the topic is the "for ..." phrase, the switched thing, or the verb
    (
        "decision:{topic}",
        r"\b(?:switched|switching|moved|changed)\s+(?:the\s+|our\s+|my\s+)(?P<topic>\w+)\s+(?:over\s+)?to\s+" + _V,
        "change",
    ),
    ("decision:{verb}", _DECIDED + _DECISION_VERB + r"\s+" + _V, ""),
    ("decision:{verb}", r"\blet's\s+(?P<verb>use|go with|keep|stick with)\s+" + _V, ""),
    ("tool", _I + _ADV + r"\s+(?:switched|switching|moved)\s+(?:over\s+)?to\s+" + _V, "change"),
    ("tool", _I + _ADV + r"\s+(?:use|uses|am using|'m using)\s+" + _V, "many"),
    # preferences: "prefer X over Y" is one slot per pair; likes hold many values
    (
        "prefer:{pair}",
        _I + _ADV + r"\s+prefers?\s+" + _V + r"\s+(?:over|to|than|rather than)\s+(?P<other>[\w\s'-]+)",
        "",
    ),
    ("prefer:{head}", _I + _ADV + r"\s+prefers?\s+" + _V, ""),
    ("likes:{value}", _I + _ADV + _NOT_LIKE + r"(?:like|love|enjoy|stand|eat|drink)s?\s+" + _V, "many not"),
    ("likes:{value}", _I + _ADV + r"\s+(?:hate|hates|dislike|dislikes|despise|detest)s?\s+" + _V, "many not"),
    ("likes:{value}", _I + _ADV + r"\s+(?:like|likes|love|loves|enjoy|enjoys|adore|adores)\s+" + _V, "many"),
)


@cache
def _patterns() -> tuple[_Pattern, ...]:
    """Compiled once, on first use, so importing the module costs nothing."""
    return tuple(
        _Pattern(attribute, re.compile(pattern), "many" not in flags, "change" in flags, "not" not in flags)
        for attribute, pattern, flags in _PATTERN_SPECS
    )


def read_slot(text: str) -> FactSlot | None:
    """The slot a memory text fills, or ``None`` when no pattern reads it.

    Accepts first-person ("I moved to Berlin") and third-person ("User moved to Berlin")
    memories, and subject-less ones ("Lives in Singapore").
    """
    clause = _FILLER.sub("", normalize(text).strip().lower())
    subject = "user"
    kin = _POSSESSIVE_SUBJECT.match(clause)
    if kin is not None:
        subject = _singular(kin.group(1))
        rest = clause[kin.end() :].lstrip()
        clause = ("my " + rest) if kin.group(2) else ("i " + rest)
    else:
        for self_subject, replacement in _SELF_SUBJECT:
            if self_subject.match(clause):
                clause = self_subject.sub(replacement, clause, count=1)
                break
        if not re.match(r"(?:i|we|my|our|let's)\b", clause):
            clause = "i " + clause  # "Lives in Singapore", "Prefers dark mode"
    for pattern in _patterns():
        found = pattern.regex.search(clause)
        if found is None:
            continue
        slot = _slot(pattern, found, clause, subject)
        if slot is not None:
            return slot
    return None


def compare(old: str | FactSlot | None, new: str | FactSlot | None) -> Verdict:
    """What ``new`` means for ``old``; see the module docstring."""
    before = read_slot(old) if isinstance(old, str) else old
    after = read_slot(new) if isinstance(new, str) else new
    if before is None or after is None:
        return Verdict(
            "unrelated", 1.0, "no slot read from " + ("the old" if before is None else "the new") + " memory"
        )
    if before.subject != after.subject:
        return Verdict("unrelated", 1.0, f"different subjects: {before.subject} / {after.subject}")
    if after.replaces and _same_value(after.replaces, before.value or before.attribute.split(":", 1)[-1]):
        return Verdict("supersedes", EXPLICIT_CHANGE, f"{after.attribute}: names {before.value!r} as replaced")
    family_before, family_after = before.attribute.split(":", 1)[0], after.attribute.split(":", 1)[0]
    if before.attribute != after.attribute:
        if family_before == family_after == "decision" and _same_value(before.value, after.value):
            return Verdict("same", 0.8, f"decision: {after.value!r} again")
        if {family_before, family_after} == {"tool", "decision"} or family_before == family_after:
            return Verdict("compatible", 0.8, f"{before.attribute} / {after.attribute}")
        return Verdict("unrelated", 1.0, f"different attributes: {before.attribute} / {after.attribute}")
    same_value = _same_value(before.value, after.value)
    reason = f"{after.attribute}: {before.value or '-'} -> {after.value or '-'}"
    if same_value and before.polarity == after.polarity:
        return Verdict("same", 0.9, reason)
    if same_value:
        confidence = EXPLICIT_CHANGE if after.change else REVERSED
        return Verdict("supersedes", confidence, reason + " (polarity reversed)")
    if not before.exclusive and not (after.change and after.exclusive):
        return Verdict("compatible", 0.8, reason)
    if not after.polarity:  # "I left Acme" says nothing of the old employer unless it is Acme
        return Verdict("compatible", 0.6, reason)
    if family_after in ("origin", "tool"):
        return Verdict("supersedes", WEAK_CHANGE, reason)
    return Verdict("supersedes", EXPLICIT_CHANGE if after.change else IMPLICIT_CHANGE, reason)


def _slot(pattern: _Pattern, found: re.Match[str], clause: str, subject: str) -> FactSlot | None:
    groups = found.groupdict()
    raw_value = groups.get("value") or groups.get("occupation") or ""
    value = _value(raw_value)
    if groups.get("occupation") is not None:
        head = value.split()[-1] if value else ""
        if not head or not (head in _OCCUPATIONS or _OCCUPATION_SUFFIX.search(head)):
            return None
        value = head if len(value.split()) > 2 else value
    fills = {
        "category": _stem_phrase(groups.get("category") or ""),
        "limit": groups.get("limit") or "",
        "noun": _stem_phrase(groups.get("noun") or ""),
        "topic": _stem_phrase(groups.get("topic") or ""),
        "verb": _VERB_SYNONYMS.get(groups.get("verb") or "", groups.get("verb") or ""),
        "value": _stem_phrase(value),
        "head": _stem_phrase(value.split()[-1]) if value else "",
        "pair": " vs ".join(sorted({_stem_phrase(value), _stem_phrase(_value(groups.get("other") or ""))})),
    }
    attribute = pattern.attribute.format(**fills)
    if attribute.endswith(":") or not (value or "{value}" in pattern.attribute):
        return None
    if pattern.attribute.startswith("count:"):
        value = _NUMBER_WORDS.get(value, value)
    topic = re.search(r"\bfor\s+(?:the\s+|our\s+|my\s+)?(\w+)", clause[found.start() :])
    if pattern.attribute.startswith("decision:{verb}") and topic:
        attribute = f"decision:{_stem_phrase(topic.group(1))}"
    replaced = re.search(r"\b(?:instead of|rather than|from)\s+" + _V, clause)
    change = pattern.change or bool(_CHANGE.search(clause))
    if re.search(r"\binstead\b", clause) and pattern.attribute.startswith("decision"):
        change = True
    return FactSlot(
        subject=subject,
        attribute=attribute,
        value="" if pattern.attribute == "likes:{value}" else _stem_phrase(value),
        polarity=pattern.polarity,
        exclusive=pattern.exclusive,
        change=change,
        replaces=_stem_phrase(_value(replaced.group("value"))) if replaced else "",
    )


_VERB_SYNONYMS = {"switch to": "use", "go with": "use", "stick with": "keep"}


def _value(raw: str) -> str:
    """The value phrase cut before time words, prepositions and punctuation, without articles."""
    cut = _VALUE_END.search(" " + raw)
    value = (" " + raw)[: cut.start()] if cut else " " + raw
    if not value.strip():  # the value is itself a time ("next Tuesday"): keep it to the punctuation
        value = re.split(r"[,;:.!?(]", raw, maxsplit=1)[0]
    words = [w for w in value.split() if w not in ("a", "an", "the", "my", "our", "some")]
    return " ".join(words).strip(" '\"")


def _stem_phrase(phrase: str) -> str:
    terms = content_terms(phrase)
    return " ".join(terms) if terms else phrase.strip()


def _same_value(a: str, b: str) -> bool:
    """Equal, or one's words contain the other's ("john" / "john smith")."""
    if not a or not b:
        return a == b
    left, right = set(a.split()), set(b.split())
    return left <= right or right <= left


def _singular(word: str) -> str:
    return {"kids": "child", "children": "child", "parents": "parent"}.get(word, word)
