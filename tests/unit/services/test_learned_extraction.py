"""The learned extractor behind the same port: its suggestions go through the one write path
(dedupe -> supersede -> create), as the heuristic's do."""

from __future__ import annotations

from pathlib import Path

from engram.config import Settings
from engram.embed.hashing import HashingEmbedder
from engram.extract.learned import LearnedExtractor
from engram.index.local import LocalIndex
from engram.models.intelligence import ExtractRequest
from engram.testing.world import World

from .conftest import TENANT


def extract(world: World, *said: str) -> list[tuple[str, str]]:
    conversation = [{"role": "user", "content": text} for text in said]
    out = world.intelligence.extract(
        TENANT, ExtractRequest.model_validate({"conversation": conversation, "save": True})
    )
    return [(s.content, s.action or "") for s in out.suggestions]


def test_learned_suggestions_are_deduplicated_and_supersede_through_the_write_path(
    tmp_path: Path, now: list[float]
) -> None:
    world = World(
        Settings(region="us-east-1"),
        index=LocalIndex(str(tmp_path / "index")),
        embedder=HashingEmbedder(384),
        extractor=LearnedExtractor(),
    )
    first = extract(world, "My name is Grace and I live in Singapore.")
    assert first == [("My name is Grace and I live in Singapore.", "created")]
    assert extract(world, "My name is Grace and I live in Singapore.") == [
        ("My name is Grace and I live in Singapore.", "reinforced")
    ]
    now[0] += 60
    moved = extract(world, "I live in Berlin now.")
    assert moved == [("I live in Berlin now.", "superseded")]
    stored = {m.text: m for m in world.memory_repo.memories.values()}
    assert set(stored) == {"My name is Grace and I live in Singapore.", "I live in Berlin now."}
    old, new = stored["My name is Grace and I live in Singapore."], stored["I live in Berlin now."]
    assert old.superseded_by == new.memory_id and old.valid_until is not None
    assert old.memory_id in new.supersedes
