"""Reading items with engram.store.loading gives exactly what PynamoDB's own path gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import AttributeDeserializationError
from pynamodb.models import Model

from engram.store import models
from engram.store.models import MemoryItem, RateCounterItem, SessionItem

MODELS = [
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, Model) and value is not Model
]


def _pynamodb(model: type[Model], raw: dict[str, Any]) -> Model:
    """PynamoDB's own path (what ``from_raw_data`` did before)."""
    return model._instantiate(raw)


def _same(model: type[Model], raw: dict[str, Any]) -> Model:
    fast = model.from_raw_data(raw)
    slow = _pynamodb(model, raw)
    assert type(fast) is type(slow) is model
    assert fast.attribute_values == slow.attribute_values
    # int stays int and float stays float, as json.loads decides
    assert {k: type(v) for k, v in fast.attribute_values.items()} == {
        k: type(v) for k, v in slow.attribute_values.items()
    }
    return fast


def test_every_model_is_loaded_fast() -> None:
    assert len(MODELS) == 8
    for model in MODELS:
        assert model.from_raw_data.__func__ is not Model.from_raw_data.__func__, model  # type: ignore[attr-defined]


def _full_memory_item() -> MemoryItem:
    """A memory item with every attribute set."""
    return MemoryItem(
        pk="t#mem_1",
        tenant_id="t",
        memory_id="mem_1",
        tenant_ns="t#work",
        tenant_ns_tier="t#work#high",
        tenant_ns_hash="t#work#abc",
        tenant_session="t#sess_1",
        tenant_ns_slot="t#work#residence",
        namespace="work",
        title="I live in Berlin",
        text="I live in Berlin and work as a nurse",
        type="preference",
        tier="high",
        locked=True,
        created_at=1_700_000_000.25,
        updated_at=1_700_000_001,
        entities=["Berlin", "nurse"],
        source={"kind": "session", "session_id": "sess_1"},
        agent_id="agent",
        session_id="sess_1",
        metadata={"nested": {"list": [1, 2.5, None]}},
        last_accessed_at=7.0,
        version=3,
        feedback_score=-2,
        access_count=4,
        strength=1.5,
        strength_at=0,
        embedding=b"\x00\x01\xff" * 8,
        embedder="local:384",
        purge_at=9,
        slot="residence",
        valid_from=1e9,
        valid_until=1.1e9,
        supersedes=["mem_0"],
        superseded_by="mem_4",
        sources=[{"session_id": "sess_1", "turn": 3}],
        source_sessions={"sess_1", "sess_2"},
        context="what came before",
    )


def test_a_full_memory_item_loads_as_pynamodb_loads_it() -> None:
    item = _full_memory_item()
    assert all(getattr(item, name) is not None for name in MemoryItem.get_attributes())
    loaded = _same(MemoryItem, item.serialize())
    assert loaded.locked is True and loaded.version == 3 and loaded.created_at == 1_700_000_000.25
    assert loaded.embedding == b"\x00\x01\xff" * 8 and loaded.source_sessions == {"sess_1", "sess_2"}
    assert loaded.metadata == {"nested": {"list": [1, 2.5, None]}} and loaded.entities == ["Berlin", "nurse"]


def test_absent_and_null_attributes_take_the_defaults_pynamodb_gives() -> None:
    raw = {"pk": {"S": "t#mem_2"}, "tenant_id": {"S": "t"}, "title": {"NULL": True}, "access_count": {"NULL": True}}
    loaded = _same(MemoryItem, raw)
    assert loaded.namespace == "default" and loaded.tier == "normal" and loaded.locked is False
    assert loaded.access_count == 0 and loaded.title is None and loaded.embedding is None
    assert _same(RateCounterItem, {"pk": {"S": "k#1"}}).hits == 0
    for model in MODELS:
        _same(model, {})


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_decode_as_json_loads_decodes_them(number: int | float) -> None:
    stored = NumberAttribute().serialize(number)
    loaded = _same(RateCounterItem, {"pk": {"S": "k"}, "hits": {"N": stored}})
    assert loaded.hits == json.loads(stored) and type(loaded.hits) is type(json.loads(stored))


@pytest.mark.parametrize("text", ["-0", "0.0", "1e5", "-2.5E-3", "12345678901234567890123", "NaN"])
def test_number_forms_decode_as_pynamodb_decodes_them(text: str) -> None:
    loaded = _same(RateCounterItem, {"pk": {"S": "k"}, "hits": {"N": text}})
    assert repr(loaded.hits) == repr(json.loads(text))


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("hits", {"N": "007"}), ("hits", {"N": "1."}), ("hits", {"N": ""}), ("hits", {"S": "5"}), ("pk", {"N": "5"})],
)
def test_a_value_pynamodb_refuses_is_refused_the_same_way(attribute: str, value: dict[str, Any]) -> None:
    raw = {"pk": {"S": "k"}, attribute: value}
    with pytest.raises(Exception) as slow:
        _pynamodb(RateCounterItem, raw)
    with pytest.raises(Exception) as fast:
        RateCounterItem.from_raw_data(raw)
    assert type(fast.value) is type(slow.value) and str(fast.value) == str(slow.value)
    assert isinstance(fast.value, AttributeDeserializationError | json.JSONDecodeError | ValueError)


def test_a_session_item_round_trips_through_serialize() -> None:
    raw = {
        "pk": {"S": "t#sess_1"},
        "tenant_id": {"S": "t"},
        "session_id": {"S": "sess_1"},
        "status": {"S": "active"},
        "created_at": {"N": "1700000000"},
        "metadata": {"S": json.dumps({"a": [1, {"b": None}]})},
    }
    loaded = _same(SessionItem, raw)
    assert loaded.serialize()["metadata"] == raw["metadata"] and loaded.created_at == 1_700_000_000


def test_to_memory_reads_every_attribute_it_names() -> None:
    import dataclasses

    from engram.store.memories import to_memory

    item = _full_memory_item()
    memory = to_memory(MemoryItem.from_raw_data(item.serialize()))
    fields = {f.name for f in dataclasses.fields(memory)} - {"embedding", "entities", "supersedes", "sources"}
    for name in fields:
        assert getattr(memory, name) == getattr(item, name), name
    assert memory.entities == ("Berlin", "nurse") and memory.supersedes == ("mem_0",)
    assert memory.sources == ({"session_id": "sess_1", "turn": 3},) and memory.embedding is not None
