"""The default extractor: deterministic patterns, no model, no network.

How it reads a conversation:

* Only messages whose role is in ``roles`` (default: ``user``) are mined. Assistant turns are
  mostly acknowledgements and paraphrases ("Got it, I will remember that"); mining them adds
  duplicates and statements about the assistant, not the user. Every message still counts
  towards ``tokens_analyzed`` (:func:`engram.extract.tokens.estimate_tokens` per message).
* Each message is split into sentences, each sentence into clauses at a conjunction that starts
  a new first-person subject ("..., and I live in ...", "...; my wife ..."). Each clause gets at
  most one type: the first rule that matches, in the priority order of :data:`_RULE_SPECS`.
  Adjacent clauses of one sentence with the same type become one suggestion, so
  "My name is John and I live in Singapore" stays whole, as in the product brief.
* Skipped: questions (``?`` or an interrogative opening), hypotheticals ("if I ...",
  "imagine ...", "I wish ..."), and small talk whose object is the other speaker ("I love that",
  "I'm glad to hear it").
* Confidence is the matching rule's strength (e.g. "my name is" 0.95, "I prefer" 0.92,
  "I have a ..." 0.85, a habitual "I play ..." 0.72), minus 0.15 for a hedge ("maybe",
  "I think", "probably", ...), minus 0.05 for a rambling clause (> 40 words), minus 0.2 for a
  role other than ``user`` when such roles are enabled; clamped to [0.3, 0.99].
* Tiers follow :data:`engram.extract.ports.DEFAULT_TIERS`: identity → critical;
  preference, decision, constraint → high; fact, goal, relationship, event → normal.
* Near-identical suggestions (content-word Jaccard >= 0.8) are reported once, keeping the
  more confident one at the position of the first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from math import ceil

from engram.extract.ports import (
    CONTENT_MAX_CHARS,
    DEFAULT_TIERS,
    ConversationMessage,
    ExtractionResult,
    MemoryType,
    Suggestion,
    make_title,
)
from engram.extract.text import STOPWORDS, content_terms, normalize, split_sentences
from engram.extract.tokens import estimate_tokens

DEDUPE_JACCARD = 0.8
MAX_CLAUSE_CHARS = 1_000  # a "clause" longer than this is cut: patterns only need its start
HEDGE_PENALTY = 0.15
LONG_CLAUSE_WORDS = 40
OTHER_ROLE_PENALTY = 0.2
MIN_CONFIDENCE = 0.3
MAX_CONFIDENCE = 0.99

# --- pattern building blocks (applied to the lower-cased, apostrophe-normalised clause) ---
_I_AM = r"\b(?:i'm|i am|im)"
_WE_ARE = r"\b(?:we're|we are)"
_ADV = (
    r"(?:\s+(?:really|also|just|actually|totally|absolutely|still|currently|now|always|"
    r"usually|definitely|truly|mostly|generally|often|sometimes|do|even|very much|"
    r"especially|kind of|sort of|honestly|personally|mainly|truly))*"
)
_KIN = (
    r"(?:wife|husband|spouse|partner|girlfriend|boyfriend|fiance|fiancee|fiancée|mom|mother|"
    r"mum|dad|father|parents?|sisters?|brothers?|siblings?|sons?|daughters?|kids?|children|"
    r"child|baby|babies|grandm(?:a|other)|grandp(?:a|arent)s?|grandfather|grandkids|"
    r"grandchildren|aunt|uncle|cousins?|nieces?|nephews?|in-laws?|friends?|best friend|"
    r"roommates?|neighbou?rs?|boss|manager|coworkers?|co-workers?|colleagues?|family|"
    r"twins?|stepmom|stepdad|stepmother|stepfather|teammates?|mentor)"
)
# "it's my favorite", "that's one of my favorite things": the subject is in another message.
_ANAPHORIC_SUBJECT = r"^(?:it|it's|they|they're|that|that's|those|these|this|he|she)\b"
# Verbs that after "I" are conversation, not a habit or a fact ("I think", "I said", "I hope").
_NOT_HABIT = (
    r"think|know|guess|mean|hope|bet|see|agree|understand|feel|believe|wonder|suppose|"
    r"imagine|would|could|should|will|can|may|might|must|shall|do|did|does|don't|didn't|"
    r"doesn't|won't|wouldn't|can't|couldn't|shouldn't|have|had|has|haven't|hadn't|just|got|"
    r"get|thought|said|say|told|tell|heard|hear|love|like|was|am|were|is|are|need|want|try|"
    r"tried|remember|forget|forgot|appreciate|promise|wish|admit|recommend|suggest|realize|"
    r"realized|doubt|hate|enjoy|prefer|totally|really|also|actually|definitely|too|still|"
    r"always|never|usually|sometimes|often|know|knew|found|find|love|loved|liked|hope|"
    r"look|looked|started|wanted|needed|thank|mean|guess|bet|care|cannot|certainly|"
    r"probably|maybe|only|even|already|ever|sure|recently|went|go|come|came|saw|"
    r"watched|read|did|made|took|gave|let|keep|kept|got|used|decided|noticed|learned"
)
_SP = r"(?:\s+|(?='))"  # a space, or straight into a contraction ("i'd like")
_NUM = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+|some|several|many|no)"
# Objects that make "I love/like ..." small talk about the other speaker, not a preference.
_CHATTER_OBJECT = (
    r"(?!\s+(?:that|this|it|you|your|yours|them|those|these|the idea|the sound|hearing|"
    r"all of (?:those|them|these)|to do that|doing that|the same|both|"
    r"to hear|how|what|when|talking|chatting)\b)"
)


@dataclass(frozen=True, slots=True)
class _Rule:
    memory_type: MemoryType
    pattern: re.Pattern[str]
    confidence: float
    exclude: re.Pattern[str] | None = None


# (type, pattern, confidence, exclude) in priority order: the first match wins.
_RULE_SPECS: tuple[tuple[MemoryType, str, float, str | None], ...] = (
    # identity: names, origin, residence, role, age
    ("identity", r"\bmy (?:full |first |last |nick)?name(?:'s| is)\b", 0.95, None),
    ("identity", r"\b(?:call me|i go by)\b", 0.9, None),
    ("identity", r"\bmy pronouns are\b", 0.95, None),
    (
        "identity",
        _I_AM + r"\s+in my (?:early |mid |late |mid-)?(?:teens|twenties|thirties|forties|"
        r"fifties|sixties|seventies|eighties|nineties|\d0s)\b",
        0.88,
        None,
    ),
    ("fact", r"\b(?:i|we)(?:'ve| have)\s+never\s+\w+", 0.7, None),
    ("fact", r"\b(?:i|we)" + _ADV + r"\s+used to\s+\w+", 0.72, None),
    # constraints come before the generic "I am/I can't/I don't" readings
    ("constraint", _I_AM + r"(?:\s+\w+)?\s+allergic\b|\ballerg(?:y|ies)\b", 0.93, None),
    (
        "constraint",
        _I_AM + r"\s+(?:a\s+)?(?:vegan|vegetarian|gluten[- ]free|lactose[- ]intolerant|"
        r"diabetic|celiac|coeliac|kosher|halal|sober|teetotal)\b",
        0.9,
        None,
    ),
    (
        "constraint",
        r"\b(?:my|our) (?:budget|deadline|limit)\b|\bbudget (?:is|of)\b",
        0.88,
        None,
    ),
    (
        "constraint",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:can't|cannot|can not|don't|do not|won't|never)\s+"
        r"(?:eat|drink|fly|drive|smoke|travel|work|use|have|touch|stand)\b",
        0.88,
        r"\bcan't stand\b",
    ),
    (
        "constraint",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:can't|cannot|can not|am unable to|'m unable to|"
        r"am not able to|'m not able to|am not allowed to|'m not allowed to)\s+\w+",
        0.82,
        r"\b(?:can't|cannot|can not) (?:wait|believe|imagine|complain|remember|tell|say|thank|"
        r"help but|agree|stop|decide|get enough|think|see|recall|hear)\b",
    ),
    (
        "constraint",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:must|have to|need to|'ve got to|have got to|got to)\s+\w+",
        0.75,
        r"\b(?:must|have to|need to|got to) (?:go|run|say|admit|agree|get going|leave|try|"
        r"check|ask|see|think|be going)\b",
    ),
    (
        "constraint",
        r"\b(?:i|we)" + _ADV + _SP + r"never\s+\w+",
        0.78,
        r"\bnever (?:thought|knew|heard|realized|realised|expected|seen|tried|been|imagined|"
        r"mind|understood|noticed|considered)\b",
    ),
    # relationships: the people in the user's life
    (
        "fact",
        r"\bmy (?:\w+ )?" + _KIN + r"\s+(?:works?|worked|is working|teaches)\s+(?:as|at|for|in)\b",
        0.85,
        None,
    ),
    (
        "relationship",
        _I_AM + r"\s+(?:happily\s+)?(?:married|engaged|divorced|widowed|single|dating|"
        r"separated|in a relationship)\b",
        0.9,
        None,
    ),
    (
        "relationship",
        r"\bi(?:'ve| have| got|'ve got)\s+" + _NUM + r"\s+(?:\w+\s+)?" + _KIN + r"\b",
        0.88,
        None,
    ),
    # identity, continued
    (
        "identity",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:live|reside)\s+(?:in|on|near|at|outside|by)\b",
        0.93,
        None,
    ),
    ("identity", _I_AM + _ADV + _SP + r"(?:originally\s+)?from\b", 0.93, None),
    ("identity", r"\bbased (?:in|out of)\b", 0.9, None),
    (
        "identity",
        r"\b(?:i|we)\s+(?:was|were)\s+(?:born|raised)\b|\bi grew up\b",
        0.9,
        None,
    ),
    ("identity", _I_AM + r"\s+\d{1,3}(?:\s+years?\s+old)?\b", 0.9, None),
    (
        "identity",
        r"\bi work as\b|\bmy (?:job|profession|occupation|title) is\b",
        0.9,
        None,
    ),
    (
        "identity",
        _I_AM + _ADV + r"\s+(?:a|an)\s+(?!(?:little|bit|lot|big|huge|good|great|bad|very|pretty|"
        r"really|long|fan|quick|fast|slow|total|bit|person who|kind of|sort of|nice|real)\b)"
        r"(?=[a-z])",
        0.86,
        None,
    ),
    (
        "identity",
        _I_AM + r"\s+(?:retired|unemployed|pregnant|left-handed|right-handed|introverted|"
        r"extroverted|an introvert|an extrovert|blind|deaf|christian|muslim|jewish|atheist|"
        r"buddhist|hindu|catholic|gay|lesbian|bisexual|male|female|non-binary|nonbinary|"
        r"self-employed|a mom|a dad|a mother|a father|a parent|tall|short)\b",
        0.85,
        None,
    ),
    # decisions
    (
        "decision",
        r"\b(?:i|we)(?:'ve| have)?\s+(?:finally\s+|just\s+)?(?:decided|chose|chosen|picked|"
        r"settled on|opted|agreed on|agreed to|made the decision)\b",
        0.9,
        None,
    ),
    (
        "decision",
        r"\blet's\s+(?:go with|use|stick with|choose|pick|settle on|switch to)\b",
        0.86,
        None,
    ),
    (
        "decision",
        r"\b(?:i|we)(?:'ll| will|'re going to| are going to|'m going to| am going to)\s+"
        r"(?:go with|use|stick with|choose|pick|switch to|settle on)\b",
        0.85,
        None,
    ),
    ("decision", r"\b(?:my|our) (?:decision|choice) (?:is|was)\b", 0.85, None),
    # goals
    (
        "goal",
        r"\bmy (?:goal|dream|plan|aim|ambition|resolution|mission)s?\b",
        0.9,
        _ANAPHORIC_SUBJECT,
    ),
    (
        "goal",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:want|wanna|plan|hope|intend|aim|aspire|would like|"
        r"'d like|would love|'d love|dream|am planning|'m planning|are planning|'re planning|"
        r"am hoping|'m hoping|am trying|'m trying|am saving|'m saving|am working|'m working)"
        r"\s+(?:to|on|for|of)\b",
        0.85,
        r"\b(?:want|like|love) to (?:know|hear|say|ask|thank|see you|talk)\b|"
        r"\b(?:would|'d) (?:love|like) to(?:\W*$| (?:\w+ )?(?:it|that|them|some|you|one|more)\b)",
    ),
    ("goal", r"\b(?:someday|one day|eventually),? (?:i|we)\b", 0.8, None),
    # preferences
    (
        "preference",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:prefer|would rather|'d rather)\b",
        0.92,
        None,
    ),
    (
        "preference",
        r"\bmy (?:\w+ )?(?:favou?rites?|fave|passion)\b|\bmy (?:\w+ )?hobb(?:y|ies)\b",
        0.92,
        _ANAPHORIC_SUBJECT,
    ),
    (
        "preference",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:like|love|enjoy|adore|hate|dislike|despise|detest|"
        r"loathe|can't stand|cannot stand)\b" + _CHATTER_OBJECT,
        0.88,
        None,
    ),
    (
        "preference",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:don't|do not|didn't)\s+(?:really\s+)?(?:like|love|enjoy|"
        r"care for)\b" + _CHATTER_OBJECT,
        0.85,
        None,
    ),
    (
        "preference",
        _I_AM
        + _ADV
        + r"\s+(?:a\s+)?(?:big\s+|huge\s+|massive\s+)?fan of\b|"
        + _I_AM
        + r"\s+(?:really\s+|very\s+)?(?:into|passionate about|obsessed with|interested in|"
        r"fascinated by|crazy about|addicted to)\b",
        0.86,
        None,
    ),
    # events: things that happened
    (
        "event",
        r"\b(?:i|we)(?:\s+(?:just|recently|finally|once|also|actually))?\s+(?:went|visited|"
        r"graduated|moved|traveled|travelled|attended|met|started|finished|got married|"
        r"got engaged|got divorced|got a new|got promoted|got fired|got laid off|retired|"
        r"adopted|bought|won|lost|broke|celebrated|completed|quit|joined|flew|returned|"
        r"came back|had a|had my|gave birth|passed|failed|ran a|hiked|climbed|survived)\b",
        0.8,
        r"\b(?:went|had a) (?:great|good|nice|long|bad|rough)\s+(?:day|time|week|one)\b",
    ),
    (
        "event",
        r"\b(?:i|we)(?:'ve| have)\s+(?:also\s+|just\s+|already\s+)?(?:been to|visited|"
        r"traveled to|travelled to|lived in|met|won|climbed|finished|completed|published)\b",
        0.76,
        None,
    ),
    (
        "event",
        _I_AM + r"\s+(?:getting married|moving|having a baby|expecting|starting|graduating|"
        r"retiring)\b|" + _WE_ARE + r"\s+(?:getting married|moving|having a baby|expecting)\b",
        0.8,
        None,
    ),
    (
        "event",
        r"\b(?:last|this past)\s+(?:week|month|year|night|weekend|summer|winter|spring|fall|"
        r"autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\byesterday\b|"
        r"\b\w+ (?:days|weeks|months|years) ago\b",
        0.76,
        None,
    ),
    # the people in the user's life, when nothing more specific (an event) matched
    (
        "relationship",
        r"\bmy\s+(?:\w+\s+)?" + _KIN + r"\b",
        0.8,
        r"\bmy (?:\w+ )?friends? and i\b",
    ),
    # facts: possessions, work, study, habits
    (
        "fact",
        r"\b(?:i|we)(?:'ve| have| own| got|'ve got| have got)(?=\s+" + _NUM + r"\s+\w+)",
        0.85,
        r"\bhave (?:a|an|no|some|one) (?:question|idea|clue|feeling|lot|lots|moment|minute|"
        r"second|look|chance|problem|good|great|nice|fun|wonderful|blast|day|time|point|"
        r"doubt|way|sec|bit)\b",
    ),
    (
        "fact",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:work|worked|volunteer|volunteered)\s+(?:at|for|in|on|"
        r"with|from|as)\b",
        0.88,
        None,
    ),
    (
        "fact",
        _I_AM + r"\s+(?:currently\s+|also\s+)?(?:studying|majoring|learning|training|"
        r"in (?:college|school|high school|university|grad school|the army|the navy|"
        r"the military|the air force)|a student|employed|working (?:as|at|for|on|in))\b",
        0.84,
        None,
    ),
    (
        "fact",
        r"\b(?:i|we)" + _ADV + _SP + r"(?:drive|own|play|study|speak|teach|read|collect|cook|"
        r"write|paint|knit|bake|run|swim|garden|hike|sing|dance|watch|listen to|go to|attend|"
        r"eat|drink|wear|use|take care of|raise|grow|build|make|practice|practise|ride|train|"
        r"coach|fish|hunt|camp|surf|ski|sew|draw|program|code|design|spend|volunteer|"
        r"belong to|have been|'ve been)\b",
        0.72,
        r"\b(?:go to (?:bed|sleep)|have been (?:good|well|great|fine|okay|ok|busy|thinking)|"
        r"'ve been (?:good|well|great|fine|okay|ok|busy|thinking)|make sure|read that|"
        r"spend time)\b",
    ),
    (
        "fact",
        r"\bmy\s+(?:\w+\s+){0,2}(?:is|are|was|were|has|have)\b",
        0.7,
        r"\bmy (?:pleasure|bad|god|gosh|goodness|word|apologies|point|question|guess)\b",
    ),
    (
        "fact",
        r"\b(?:i|we)" + _ADV + r"\s+(?!(?:" + _NOT_HABIT + r")\b)[a-z]{3,}\s+[a-z]",
        0.6,
        None,
    ),
)

_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|mine|we|we're|we've|our|let's)\b")
_QUESTION_OPENING = re.compile(
    r"^(?:what|who|whom|whose|where|when|why|how|which|do|does|did|are|is|was|were|have|has|"
    r"can|could|would|will|should|shall|may|am|aren't|isn't|don't|doesn't|didn't|won't)\b"
)
_HYPOTHETICAL = re.compile(
    r"^(?:if|what if|imagine|suppose|supposing|hypothetically|let's say|say|pretend|"
    r"in theory|in a perfect world)\b|\bif i (?:were|was|had|could)\b|\bi wish\b|"
    r"\bi would have\b|\bi'd have\b|\bwould be nice\b|\bif only\b"
)
_SMALL_TALK = re.compile(
    r"^(?:i'm|i am|im)\s+(?:glad|sorry|happy to hear|sure|not sure|not really sure|fine|good|great|okay|ok|"
    r"doing|well|so sorry|excited to|looking forward to hearing)\b|"
    r"^i (?:know|see|agree|understand|bet|mean|guess so|think so|hope so|hope you|agree)\b"
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|probably|possibly|might|i think|i guess|i suppose|i believe|"
    r"not sure|kind of|sort of|i'm not certain|i feel like)\b"
)
_LEADING_FILLER = re.compile(
    r"^(?:(?:well|oh|yes|yeah|yep|no|nope|so|and|but|actually|honestly|also|ok|okay|um|uh|"
    r"haha|lol|wow|hi|hey|hello|sure|cool|great|awesome|nice|really|right|anyway|anyways|"
    r"me too|same here|same|true|totally)\b[\s,!.-]*)+"
)
_CLAUSE_BOUNDARY = re.compile(
    r"(?:\s*[;:]\s*|\s*,\s*(?:and|but|so|because|since|although|though|while|plus)?\s*|"
    r"\s+(?:and|but|so|because|since|although|though|while|plus)\s+)"
    r"(?=(?:i|i'm|i've|i'd|i'll|im|my|we|we're|we've|our|let's)\b)",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b[A-Z][\w'&.-]*[\w](?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'&.-]*[\w])*")
_NUMBER_UNIT = re.compile(r"(?:[$€£]\s?)?\b\d+(?:[.,:]\d+)*(?:\s?(?:%|am|pm|[a-z]+))?", re.IGNORECASE)
_NOT_ENTITY = frozenset(
    {
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "im",
        "my",
        "we",
        "ok",
        "okay",
        "oh",
        "yes",
        "no",
        "hi",
    }
)
_PHRASE_STOP = STOPWORDS | frozenset(
    {
        "usually",
        "because",
        "since",
        "although",
        "though",
        "while",
        "around",
        "every",
        "lately",
    }
)
_PHRASE_SKIP = frozenset({"a", "an", "the", "my", "our", "to", "some", "being", "doing", "in"})
_DETERMINERS = frozenset({"a", "an", "the"})
_TIME_WORDS = frozenset({"last", "next", "yesterday", "today", "tomorrow", "tonight", "ago", "instead"})


@cache
def _rules() -> tuple[_Rule, ...]:
    """Compiled once, on first use, so importing the module costs nothing."""
    return tuple(_Rule(t, re.compile(p), c, re.compile(x) if x else None) for t, p, c, x in _RULE_SPECS)


@dataclass(slots=True)
class _Match:
    memory_type: MemoryType
    confidence: float
    start: int  # clause span inside the sentence
    end: int
    object_phrase: str


class HeuristicExtractor:
    """Pattern-based :class:`~engram.extract.ports.Extractor`; see the module docstring."""

    def __init__(self, *, roles: Collection[str] = ("user",), max_suggestions: int = 100) -> None:
        self._roles = frozenset(r.lower() for r in roles)
        self._max_suggestions = max_suggestions

    def extract(self, messages: Sequence[ConversationMessage]) -> ExtractionResult:
        tokens = 0
        found: list[Suggestion] = []
        for index, message in enumerate(messages):
            content = message.content or ""
            tokens += estimate_tokens(content)
            role = (message.role or "").lower()
            if role not in self._roles or not content.strip():
                continue
            penalty = 0.0 if role == "user" else OTHER_ROLE_PENALTY
            for sentence in split_sentences(normalize(content)):
                found.extend(sentence_suggestions(sentence, index, penalty))
        suggestions = _dedupe(found)
        if len(suggestions) > self._max_suggestions:
            keep = sorted(range(len(suggestions)), key=lambda i: -suggestions[i].confidence)
            chosen = sorted(keep[: self._max_suggestions])
            suggestions = [suggestions[i] for i in chosen]
        return ExtractionResult(suggestions=suggestions, tokens_analyzed=tokens)


def sentence_suggestions(sentence: str, index: int, penalty: float = 0.0) -> list[Suggestion]:
    """The suggestions the rules read in one sentence of message ``index`` (see the module docstring).

    Also the learned extractor's rule layer (:mod:`engram.extract.learned`), which keeps the ones
    at or above a confidence floor as they are.
    """
    sentence = sentence[:MAX_CLAUSE_CHARS]
    lowered = sentence.lower()
    stripped = lowered.rstrip()
    if stripped.endswith("?") or not _FIRST_PERSON.search(lowered):
        return []
    body = _LEADING_FILLER.sub("", lowered)
    if _QUESTION_OPENING.match(body) or _HYPOTHETICAL.search(body):
        return []
    matches: list[_Match] = []
    for start, end in _clauses(sentence):
        match = _classify(sentence[start:end], start)
        if match is None:
            continue
        match.end = end
        if matches and matches[-1].memory_type == match.memory_type:
            previous = matches[-1]
            previous.end = end
            previous.confidence = max(previous.confidence, match.confidence)
            continue
        matches.append(match)
    out: list[Suggestion] = []
    for match in matches:
        text = _clean_content(sentence[match.start : match.end])
        if not text:
            continue
        confidence = match.confidence - penalty
        if _HEDGE.search(text.lower()):
            confidence -= HEDGE_PENALTY
        if len(text.split()) > LONG_CLAUSE_WORDS:
            confidence -= 0.05
        confidence = round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, confidence)), 2)
        out.append(
            Suggestion(
                title=make_title(match.memory_type, text),
                content=text,
                memory_type=match.memory_type,
                suggested_tier=DEFAULT_TIERS[match.memory_type],
                confidence=confidence,
                entities=_entities(text, match.object_phrase),
                source_index=index,
            )
        )
    return out


def describe(text: str) -> tuple[MemoryType, list[str]] | None:
    """The memory type the rules give the first clause they read in ``text``, and its entities.

    ``None`` when no rule reads any clause (small talk, questions, statements about others).
    Used by the learned extractor, which decides *whether* a sentence is worth keeping and
    leaves *what kind* of memory it is to these rules.
    """
    for sentence in split_sentences(normalize(text)):
        lowered = sentence[:MAX_CLAUSE_CHARS].lower()
        if lowered.rstrip().endswith("?") or not _FIRST_PERSON.search(lowered):
            continue
        for start, end in _clauses(sentence[:MAX_CLAUSE_CHARS]):
            match = _classify(sentence[start:end], start)
            if match is not None:
                return match.memory_type, _entities(text, match.object_phrase)
    return None


def dedupe(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Near-identical suggestions (content-word Jaccard >= 0.8) once, the more confident kept."""
    return _dedupe(suggestions)


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """Spans of the sentence cut before a conjunction that opens a new first-person subject."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in _CLAUSE_BOUNDARY.finditer(sentence):
        if boundary.start() > start:
            spans.append((start, boundary.start()))
        start = boundary.end()
    spans.append((start, len(sentence)))
    return spans


def _classify(clause: str, offset: int) -> _Match | None:
    """The first rule matching the clause, unless the clause is small talk.

    Rules see the lower-cased clause without its leading fillers; the object phrase (for
    entities) is cut from the original text so names keep their capitals.
    """
    lowered = clause.lower()
    stripped = lowered.lstrip()
    lead = len(lowered) - len(stripped)
    filler = _LEADING_FILLER.match(stripped)
    if filler is not None:
        lead += filler.end()
    body = lowered[lead:].rstrip()
    if not body or _SMALL_TALK.match(body) or not _FIRST_PERSON.search(body):
        return None
    for rule in _rules():
        found = rule.pattern.search(body)
        if found is None:
            continue
        if rule.exclude is not None and rule.exclude.search(body):
            continue
        if rule.memory_type == "relationship":
            phrase = found.group().split()[-1]  # the relative ("sister") or state ("married")
        else:
            phrase = clause[lead + found.end() : lead + len(body)]
        return _Match(rule.memory_type, rule.confidence, offset, offset, phrase)
    return None


def _clean_content(text: str) -> str:
    """The clause as said, trimmed of joining punctuation and cut to the content limit."""
    text = " ".join(text.split()).strip(" ,;:-")
    if len(text) > CONTENT_MAX_CHARS:
        text = text[: CONTENT_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def _entities(text: str, object_phrase: str) -> list[str]:
    """Capitalised names, numbers with units and the noun phrase after the key verb."""
    seen: set[str] = set()
    out: list[str] = []

    def add(value: str) -> None:
        value = value.strip(" .,!;:'\"")
        key = value.lower()
        if value and key not in seen and key not in _NOT_ENTITY and key not in STOPWORDS:
            seen.add(key)
            out.append(value)

    for found in _CAPITALISED.finditer(text):
        name = found.group()
        if name.split()[0].lower() in _NOT_ENTITY:
            name = " ".join(name.split()[1:])
        if found.start() == 0 and " " not in name:
            continue  # a sentence-initial capital is grammar, not a name
        add(name)
    for found in _NUMBER_UNIT.finditer(text):
        value = found.group()
        parts = value.split()
        if len(parts) > 1 and parts[-1].lower() in STOPWORDS:
            value = parts[0]
        add(value)
    phrase: list[str] = []
    content_words = 0
    for word in re.findall(r"[\w'-]+", object_phrase):
        key = word.lower()
        if not phrase and (key in _PHRASE_SKIP or key in _PHRASE_STOP):
            continue
        if key in _DETERMINERS:
            phrase.append(word)
            continue
        if key in _PHRASE_STOP or key in _TIME_WORDS or content_words == 4:
            break
        phrase.append(word)
        content_words += 1
    while phrase and phrase[-1].lower() in _DETERMINERS:
        phrase.pop()
    if phrase:
        add(" ".join(phrase))
    return out[:10]


def _dedupe(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Drop near-identical suggestions (content-word Jaccard >= 0.8), keeping the best one.

    Prefix filtering keeps this near-linear: two sets with Jaccard >= t share a token among
    the first ``n - ceil(t*n) + 1`` tokens of each (in one global order), so only suggestions
    sharing such a token are compared.
    """
    kept: list[Suggestion] = []
    kept_terms: list[frozenset[str]] = []
    by_prefix: dict[str, list[int]] = {}
    exact: dict[str, int] = {}
    for suggestion in suggestions:
        terms = frozenset(content_terms(suggestion.content))
        duplicate: int | None = None
        if not terms:
            duplicate = exact.get(suggestion.content.lower())
        else:
            ordered = sorted(terms)
            prefix = ordered[: len(ordered) - ceil(DEDUPE_JACCARD * len(ordered)) + 1]
            candidates = sorted({i for term in prefix for i in by_prefix.get(term, ())})
            for i in candidates:
                other = kept_terms[i]
                inter = len(terms & other)
                if inter / (len(terms) + len(other) - inter) >= DEDUPE_JACCARD:
                    duplicate = i
                    break
        if duplicate is not None:
            if suggestion.confidence > kept[duplicate].confidence:
                kept[duplicate] = suggestion
            continue
        position = len(kept)
        kept.append(suggestion)
        kept_terms.append(terms)
        if terms:
            ordered = sorted(terms)
            for term in ordered[: len(ordered) - ceil(DEDUPE_JACCARD * len(ordered)) + 1]:
                by_prefix.setdefault(term, []).append(position)
        else:
            exact[suggestion.content.lower()] = position
    return kept
