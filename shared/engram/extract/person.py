"""Report what someone said in the third person: "I'm moving to Berlin" -> "User is moving to Berlin."

Used by the summariser (every sentence is its speaker's) and by the extractor (a memory is a
fact about the user, read later and out of context, so "I" must become "User"). It is a small
table of rules, deterministic and cheap:

* the first first-person reference becomes the speaker's name ("I" -> "User", "my" -> "User's",
  "me" -> "User"); later ones either repeat the name (summaries, where several speakers mix) or
  become "they"/"their"/"them" (memories, which are about one person: "User loves camping with
  their family");
* the verb after a name takes the third-person singular ("I live" -> "User lives", "I'm" ->
  "User is", "I don't" -> "User doesn't"); past forms, modals and adverbs are left alone, and
  an adverb between subject and verb is skipped ("I really like" -> "User really likes");
* "you" becomes the listener when there is exactly one, and is left alone otherwise.
"""

from __future__ import annotations

import re

# The verb after "I" is assumed present tense unless it is one of these (or ends in -ed).
_PAST_OR_MODAL_TEXT = """
    was were had did could would should might must can will shall may ought used got went came
    saw made took gave found thought told said knew left felt kept began became brought bought
    caught taught ran met sent spent built lost won wrote heard held stood understood
    grew drew threw flew drove rode ate fell forgot chose spoke broke woke wore tore sang swam
    sat paid laid lit slept swept wept dealt meant
    sold fed led fled fought sought struck stuck hung dug spun sprang shook stole froze
    """
_PAST_OR_MODAL = frozenset(_PAST_OR_MODAL_TEXT.split())
# Words that may sit between the subject and its verb; the verb after them is conjugated.
_ADVERBS_TEXT = """
    really also just still always usually often never sometimes actually totally absolutely
    definitely truly mostly generally especially honestly personally mainly currently now even
    only already recently finally kinda sorta probably certainly seriously literally basically
    """
_ADVERBS = frozenset(_ADVERBS_TEXT.split())
# Words that can follow a subject pronoun without being its verb ("you and I", "I too").
_NOT_VERB_TEXT = """
    and or but so because then too if when while that who which as than with for to of in on
    at from by about all both myself yourself alone personally here there not
    """
_NOT_VERB = frozenset(_NOT_VERB_TEXT.split())
_IRREGULAR = {"have": "has", "do": "does", "go": "goes", "am": "is", "are": "is", "be": "is"}
_NEGATIONS = {"don't": "doesn't", "haven't": "hasn't", "aren't": "isn't", "ain't": "isn't"}
_CONTRACTIONS = {"'m": "is", "'re": "is", "'ve": "has", "'ll": "will", "'d": "would"}
_PLURAL_CONTRACTIONS = {"'m": "are", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would"}
_PLURAL_BE = {"am": "are", "was": "were"}

_NOT_PRONOUN = r"(?!(?:I|you|my|mine|myself|me|your|yours|yourself)\b)"
_PRONOUN = re.compile(
    r"\b(?:(I|you)(?:('m|'re|'ve|'ll|'d))?\b"
    r"(?:(\s+)" + _NOT_PRONOUN + r"([A-Za-z]+(?:'[a-z]+)?))?"
    r"(?:(\s+)" + _NOT_PRONOUN + r"([A-Za-z]+(?:'[a-z]+)?))?"
    r"|(my|mine|myself|me|your|yours|yourself)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]")
# "can you help", "do I need": after an auxiliary the verb stays in its base form.
_AUXILIARY_BEFORE = re.compile(
    r"\b(?:can|could|would|will|shall|should|may|might|must|do|does|did|to|let|make|help|"
    r"and|or)\s+$",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")


def third_person(sentence: str, speaker: str, listener: str | None = None, *, repeat_name: bool = True) -> str:
    """The sentence reported as ``speaker``'s; see the module docstring.

    ``repeat_name=False`` uses "they/their/them" after the first mention. The result starts with
    a capital and ends with punctuation (a ``!`` stays, a missing stop is added).
    """
    mentioned = False

    def replace(found: re.Match[str]) -> str:
        nonlocal mentioned
        subject, contraction, other = found.group(1), found.group(2), found.group(7)
        space1, word1, space2, word2 = found.group(3), found.group(4), found.group(5), found.group(6)
        tail = (space1 or "") + (word1 or "") + (space2 or "") + (word2 or "")
        if subject is None:  # possessive or object pronoun
            lower = other.lower()
            own = lower in ("my", "mine", "myself", "me")
            if not own and listener is None:
                return found.group(0)
            name = speaker if own else listener
            assert name is not None
            pronoun = own and mentioned and not repeat_name
            mentioned = mentioned or own
            if pronoun and lower == "my" and _SENTENCE_START.search(found.string[: found.start()]):
                return "Their"
            if lower in ("my", "your"):
                return "their" if pronoun else f"{name}'s"
            if lower in ("mine", "yours"):
                return "theirs" if pronoun else f"{name}'s"
            if lower in ("myself", "yourself"):
                return "themselves" if pronoun else name
            return "them" if pronoun else name
        if subject.lower() == "you" and listener is None:
            return found.group(0)
        own = subject.lower() == "i"
        name = speaker if own else listener
        assert name is not None
        plural = own and mentioned and not repeat_name
        mentioned = mentioned or own
        head = "they" if plural else name
        before = found.string[: found.start()]
        if plural and _SENTENCE_START.search(before):
            head = "They"
        if _AUXILIARY_BEFORE.search(before) and not contraction:
            return f"{head}{tail}"
        if contraction:
            verb = (_PLURAL_CONTRACTIONS if plural else _CONTRACTIONS)[contraction.lower()]
            return f"{head} {verb}{tail}"
        if word1 is None:
            return head
        if plural:
            first = _PLURAL_BE.get(word1.lower(), word1)
            return f"{head}{space1}{first}{space2 or ''}{word2 or ''}"
        if word1.lower() in _ADVERBS and word2 is not None:
            return f"{head}{space1}{word1}{space2}{conjugate(word2)}"
        return f"{head}{space1}{conjugate(word1)}{space2 or ''}{word2 or ''}"

    text = _PRONOUN.sub(replace, sentence.strip())
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?":
        text += "."
    return text


def conjugate(verb: str) -> str:
    """Third-person singular of a present-tense verb; past forms, modals and "-ed" unchanged."""
    lower = verb.lower()
    if lower in _NEGATIONS:
        return _NEGATIONS[lower]
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if (
        lower in _PAST_OR_MODAL
        or lower in _ADVERBS
        or lower in _NOT_VERB
        or lower.endswith(("ed", "n't"))
        or "'" in lower
        or not _WORD.match(lower)
        or len(lower) < 2
    ):
        return verb
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ies"
    return verb + "s"
