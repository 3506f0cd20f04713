"""MissReview: logged misses grouped by meaning, and replayed against today's memory.

**Clusters** (``GET /v1/memories/misses/clusters``). The misses of a window (namespace, since,
until; at most :data:`MAX_CLUSTERED`, the newest) are embedded with the memory embedder and
grouped by *leader clustering*: taken oldest first, a miss joins the cluster whose first miss
(its leader) is most similar to it, if that cosine is at least ``similarity``
(:data:`DEFAULT_SIMILARITY` unless asked), and otherwise starts a cluster of its own. Identical
questions (case and spacing aside) always land together. It is deterministic, needs no cluster
count up front, costs one embedding per distinct question plus one dot product per (miss,
leader), and a newer miss never moves an older one: a cluster's id — its leader's miss id —
stays the same as misses arrive, so the inspector can link to it and replay can name it.
Average-linkage (scikit-learn's ``AgglomerativeClustering``) groups a little more evenly, but it
brings numpy and scipy into a Lambda (the layer-import guard forbids them) and its clusters
reshuffle as misses arrive; at a few hundred short questions the leader pass is enough.

A cluster's ``representative`` is the member whose question is closest to the cluster's mean
vector; clusters are ordered by size, then by their newest miss, and paged with an offset cursor.

**Replay** (``POST /v1/memories/misses/replay``). Each selected miss (newest first, up to
``limit``) is asked again through :meth:`SearchService.explain` — the service's public ranking,
so replay follows whatever ranking and calibration search uses — in the namespaces it was asked
in, top 1, without counting as an access. ``answered`` means that best memory scores at or above
the threshold (the service's default unless the request names one), exactly what a search would
return. Replay only reads: a regression check to run after adding memories or changing settings.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engram import clock, errors
from engram.models.memories import (
    ExplainOut,
    ExplainRequest,
    MissCluster,
    MissClustersOut,
    ReplayMisses,
    ReplayOut,
    ReplayResult,
    ReplayTop,
)
from engram.paging import decode_cursor, encode_cursor
from engram.ports.memories import Miss
from engram.services.misses import MissService, miss_out, parse_time

MAX_CLUSTERED = 500  # misses one clustering considers (the newest of the window)
DEFAULT_SIMILARITY = 0.6  # cosine with a cluster's first miss needed to join it (README, "Misses")

Embed = Callable[[Sequence[str]], list[list[float]]]
Explain = Callable[[str, ExplainRequest], ExplainOut]


@dataclass
class _Cluster:
    leader: Miss
    vector: list[float]
    members: list[tuple[Miss, list[float]]] = field(default_factory=list)


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else [0.0 for _ in vector]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(map(operator.mul, a, b))


def _same_question(query: str) -> str:
    return " ".join(query.lower().split())


def leader_clusters(misses: Sequence[Miss], vectors: Sequence[Sequence[float]], similarity: float) -> list[_Cluster]:
    """Leader clustering of ``misses`` (any order; taken oldest first) with unit ``vectors``."""
    order = sorted(range(len(misses)), key=lambda i: misses[i].miss_id)
    clusters: list[_Cluster] = []
    by_question: dict[str, _Cluster] = {}
    for i in order:
        miss, vector = misses[i], list(vectors[i])
        home = by_question.get(_same_question(miss.query))
        if home is None:
            best, best_sim = None, -2.0
            for c in clusters:
                sim = _dot(vector, c.vector)
                if sim > best_sim:
                    best, best_sim = c, sim
            home = best if best is not None and best_sim >= similarity else None
        if home is None:
            home = _Cluster(miss, vector)
            clusters.append(home)
        home.members.append((miss, vector))
        by_question.setdefault(_same_question(miss.query), home)
    return clusters


def representative(cluster: _Cluster) -> Miss:
    """The member closest to the cluster's mean vector (ties: the oldest)."""
    dims = len(cluster.vector)
    mean = [math.fsum(v[d] for _, v in cluster.members) for d in range(dims)]
    return max(cluster.members, key=lambda mv: (_dot(mv[1], mean), -cluster.members.index(mv)))[0]


class MissReview:
    def __init__(self, misses: MissService, embed: Embed, explain: Explain) -> None:
        self._misses = misses
        self._embed = embed
        self._explain = explain

    def _window(
        self, tenant_id: str, namespace: str | None, since: str | None, until: str | None, cap: int
    ) -> tuple[list[Miss], bool]:
        since_ts, until_ts = parse_time("since", since), parse_time("until", until)
        if since_ts is not None and until_ts is not None and until_ts < since_ts:
            raise errors.ValidationFailed("until must not be before since")
        return self._misses.window(tenant_id, namespace=namespace, since=since_ts, until=until_ts, cap=cap)

    def _cluster(self, misses: list[Miss], similarity: float) -> list[_Cluster]:
        questions = list(dict.fromkeys(_same_question(m.query) for m in misses))
        first = {q: next(m.query for m in misses if _same_question(m.query) == q) for q in questions}
        vectors = dict(zip(questions, (_unit(v) for v in self._embed([first[q] for q in questions])), strict=True))
        clusters = leader_clusters(misses, [vectors[_same_question(m.query)] for m in misses], similarity)
        clusters.sort(key=lambda c: max(m.miss_id for m, _ in c.members), reverse=True)  # newest activity first
        return sorted(clusters, key=lambda c: -len(c.members))  # stable: biggest first, then newest

    def clusters(
        self,
        tenant_id: str,
        *,
        namespace: str | None = None,
        since: str | None = None,
        until: str | None = None,
        similarity: float | None = None,
        examples: int = 5,
        limit: int = 20,
        cursor: str | None = None,
    ) -> MissClustersOut:
        offset = 0
        if cursor:
            key = decode_cursor(cursor, {"offset"}, lambda k: isinstance(k.get("offset"), int) and k["offset"] >= 0)
            offset = key["offset"]
        sim = DEFAULT_SIMILARITY if similarity is None else similarity
        misses, truncated = self._window(tenant_id, namespace, since, until, MAX_CLUSTERED)
        clusters = self._cluster(misses, sim) if misses else []
        page = clusters[offset : offset + limit]
        has_more = offset + limit < len(clusters)
        data = []
        for c in page:
            members = sorted((m for m, _ in c.members), key=lambda m: m.miss_id, reverse=True)
            data.append(
                MissCluster(
                    id=c.leader.miss_id,
                    count=len(members),
                    representative=representative(c).query,
                    examples=[miss_out(m) for m in members[:examples]],
                    namespaces=sorted({n for m in members for n in m.namespaces}),
                    first_seen=clock.iso(min(m.created_at for m in members)),
                    last_seen=clock.iso(max(m.created_at for m in members)),
                )
            )
        return MissClustersOut(
            data=data,
            next_cursor=encode_cursor({"offset": offset + limit}) if has_more else None,
            has_more=has_more,
            total_count=len(clusters),
            misses_considered=len(misses),
            truncated=truncated,
            similarity=sim,
        )

    def replay(self, tenant_id: str, req: ReplayMisses) -> ReplayOut:
        if req.cluster_id:
            misses, _ = self._window(tenant_id, req.namespace, req.since, req.until, MAX_CLUSTERED)
            sim = DEFAULT_SIMILARITY if req.similarity is None else req.similarity
            found = [c for c in self._cluster(misses, sim) if c.leader.miss_id == req.cluster_id] if misses else []
            if not found:
                hint = "list them with GET /v1/memories/misses/clusters"
                raise errors.NotFound(f"No miss cluster {req.cluster_id!r} with these filters; {hint}")
            members = sorted((m for m, _ in found[0].members), key=lambda m: m.miss_id, reverse=True)
            chosen, more = members[: req.limit], len(members) > req.limit
        else:
            chosen, more = self._window(tenant_id, req.namespace, req.since, req.until, req.limit)
        replayed = [self._replay_one(tenant_id, m, req.threshold) for m in chosen]
        results = [r for r, _ in replayed]
        answered = sum(r.answered for r in results)
        threshold = replayed[0][1] if replayed else req.threshold
        return ReplayOut(
            data=results,
            threshold=threshold,
            replayed=len(results),
            answered=answered,
            unanswered=len(results) - answered,
            more_misses=more,
        )

    def _replay_one(self, tenant_id: str, miss: Miss, threshold: float | None) -> tuple[ReplayResult, float]:
        # A miss keeps up to 21 namespaces (a search's ``namespace`` plus its 20 ``namespaces``): ask
        # them the same way, one as ``namespace`` and the rest as ``namespaces``.
        first, rest = (miss.namespaces[0], list(miss.namespaces[1:])) if miss.namespaces else (None, [])
        asked = ExplainRequest(query=miss.query, namespace=first, namespaces=rest or None, top_k=1, threshold=threshold)
        out = self._explain(tenant_id, asked)
        best = out.results[0] if out.results else None
        result = ReplayResult(
            miss_id=miss.miss_id,
            query=miss.query,
            namespaces=list(miss.namespaces),
            created_at=clock.iso(miss.created_at),
            answered=bool(best and best.included),
            top=ReplayTop(memory_id=best.memory_id, title=best.title, score=best.score) if best else None,
        )
        return result, out.threshold
