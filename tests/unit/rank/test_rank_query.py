"""Reading a query: names and calendar periods."""

from __future__ import annotations

from datetime import date

import pytest

from engram.rank.query import Period, names_in, periods_in, read_query


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("When did Caroline go to the LGBTQ support group?", ("carolin",)),
        ("What did Andrew and his GF do on the Monday before July 24, 2023?", ("andrew",)),
        ("What is Melanie's favourite book?", ("melani",)),
        ("Is the user based in Singapore? Does Tim know?", ("singapor", "tim")),
        ("What API style does the user like?", ()),  # acronyms are topics, not names
        ("Caroline said what?", ()),  # the first word of a sentence is not read as a name
        ("What timezone is the user in?", ()),
    ],
)
def test_names(query: str, names: tuple[str, ...]) -> None:
    assert names_in(query) == names


@pytest.mark.parametrize(
    ("query", "periods"),
    [
        ("What game is Nate playing on November 7, 2022?", (Period(2022, 11, 7),)),
        ("What inspired Joanna's screenplay on 25 February, 2022?", (Period(2022, 2, 25),)),
        ("What did John host in May 2023?", (Period(2023, 5, None),)),
        ("When did Melanie go camping in June?", (Period(None, 6, None),)),
        ("Which book did she read in 2022?", (Period(2022, None, None),)),
        ("What happened on 2023-05-01?", (Period(2023, 5, 1),)),
        ("May I ask what you did?", ()),
        ("It costs 2022 dollars at 10:30", (Period(2022, None, None),)),
        ("What time is it?", ()),
    ],
)
def test_periods(query: str, periods: tuple[Period, ...]) -> None:
    assert periods_in(query) == periods


def test_a_period_contains_its_days_and_is_near_just_after() -> None:
    may = Period(2023, 5, None)
    assert may.contains(date(2023, 5, 31)) and not may.contains(date(2022, 5, 3))
    assert may.near(date(2023, 6, 15)) and not may.near(date(2023, 4, 30)) and not may.near(date(2023, 7, 1))
    day = Period(2022, 10, 9)
    assert day.near(date(2022, 10, 16)) and not day.near(date(2022, 10, 17)) and not day.near(date(2022, 10, 8))
    december = Period(2022, 12, None)
    assert december.near(date(2023, 1, 10)) and not december.near(date(2022, 1, 10))
    assert Period(None, 6, None).contains(date(1999, 6, 1)) and Period(2021, None, None).near(date(2021, 1, 1))


def test_read_query_uses_the_index_analyser() -> None:
    q = read_query("Where does Caroline go hiking?")
    assert q.terms == {"carolin", "go", "hik"} and q.names == ("carolin",) and q.periods == ()
