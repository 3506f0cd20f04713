"""Fact slots: what a memory says, and when a new memory supersedes an old one."""

from __future__ import annotations

import pytest

from engram.extract.slots import AUTO_SUPERSEDE, FactSlot, compare, read_slot


def test_a_move_supersedes_a_residence_automatically() -> None:
    verdict = compare("I live in Singapore", "I moved to Berlin last month")
    assert verdict.relation == "supersedes"
    assert verdict.confidence >= AUTO_SUPERSEDE
    assert verdict.automatic
    assert "singapor" in verdict.reason and "berlin" in verdict.reason


def test_third_person_and_subjectless_memories_read_the_same_slot() -> None:
    first = read_slot("I live in Singapore")
    assert first == read_slot("User lives in Singapore") == read_slot("Lives in Singapore.")
    assert first is not None
    assert (first.subject, first.attribute, first.value, first.polarity) == ("user", "residence", "singapor", True)
    assert first.key == "user|residence"


def test_two_values_without_a_change_word_go_to_review() -> None:
    verdict = compare("I live in Toronto", "I live in Montreal")
    assert verdict.relation == "supersedes"
    assert verdict.confidence < AUTO_SUPERSEDE
    assert not verdict.automatic


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("I like sushi", "I don't like sushi anymore"),
        ("I hate mushrooms", "I actually like mushrooms now"),
        ("I work at Google", "I just joined Microsoft"),
        ("My favorite color is blue", "My favorite color is green"),
        ("We decided to use Postgres for the database", "We'll use MySQL instead of Postgres"),
        ("I'm single", "I got married in June"),
        ("I'm 34 years old", "I turned 35 yesterday"),
    ],
)
def test_changes_that_supersede(old: str, new: str) -> None:
    assert compare(old, new).relation == "supersedes"


@pytest.mark.parametrize(
    ("old", "new", "relation"),
    [
        ("I live in Singapore", "I live in Singapore with my wife", "same"),
        ("I like sushi", "I love sushi", "same"),
        ("I like sushi", "I like ramen", "compatible"),
        ("I'm allergic to peanuts", "I'm allergic to shellfish too", "compatible"),
        ("I live in Singapore", "My brother lives in Berlin", "unrelated"),
        ("I live in Singapore", "I work at DBS Bank", "unrelated"),
        ("I live in Toronto", "I'm visiting Montreal next week", "unrelated"),
        ("The weather was nice", "I moved to Berlin", "unrelated"),
    ],
)
def test_what_does_not_supersede(old: str, new: str, relation: str) -> None:
    assert compare(old, new).relation == relation


def test_a_relatives_fact_is_their_own_slot() -> None:
    slot = read_slot("My sister's name is Anna")
    assert slot is not None
    assert (slot.subject, slot.attribute, slot.value) == ("sister", "name", "anna")
    assert compare("My sister lives in Boston", "My sister moved to Chicago").relation == "supersedes"


def test_compare_accepts_slots_and_reports_unreadable_text() -> None:
    old = FactSlot(subject="user", attribute="employer", value="acm")
    assert compare(old, "I left Acme last week").relation == "supersedes"
    assert compare("hello there", "I left Acme").reason == "no slot read from the old memory"
    assert read_slot("") is None
