"""OpenSearchIndex: the vector + BM25 index on Amazon OpenSearch Service or Serverless.

Mapping: ``embedding`` is a ``knn_vector`` (HNSW, engine **faiss**, space ``cosinesimil``);
``content`` (the memory's context + title when it adds words + text + entities) is a ``text``
field with the ``english`` analyser for BM25 (the context lives only there: search reads a
memory's text and context from DynamoDB, so the mapping needs no field of its own for it);
tenant, namespace, type, tier, session and agent are ``keyword`` fields for exact filters;
``version`` orders writes.

Why faiss: it is the engine both Amazon OpenSearch Service (2.9+) and Serverless support with
*efficient filtering* — the ``filter`` inside the ``knn`` clause is applied during the graph
search (switching to exact search when the filter is selective), so a tenant's top-k is never
starved by other tenants' neighbours, which post-filtering (nmslib) cannot promise. nmslib is
deprecated since OpenSearch 2.19 and cannot create new indexes in 3.0. (Domains older than 2.19
lack cosinesimil on faiss: pass ``space_type="innerproduct"``, identical for our unit vectors.)

Versioning: on a managed domain every document is written with ``version_type=external`` and
the memory's version, so an older or repeated stream delivery is rejected by OpenSearch itself
(409, reported as "stale"). Document ids are ``<tenant>/<memory id>``, so a delete can only
ever touch the caller's tenant. Serverless (``aoss``) collections accept neither custom ids nor
external versions; there each write first reads the held copies by the ``memory_id`` keyword,
skips if one has a version ≥ the new one, otherwise deletes the older copies and indexes the
new one with a server-generated id. Two racing writers may briefly leave two copies (the
collection is eventually consistent): searches keep only the highest version per memory, and
the next write of that memory deletes the extras.

Scores: OpenSearch reports cosinesimil as ``(1 + cos) / 2``; hits carry the raw cosine back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlparse

from engram.index import IndexDoc, IndexFilters, IndexHit, IndexUnavailable, UpsertResult
from engram.index.text import bm25_text

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
EF_SEARCH = 100


class OpenSearchIndex:
    def __init__(
        self,
        client: Any,
        index_name: str,
        dimensions: int,
        *,
        serverless: bool = False,
        space_type: str = "cosinesimil",
        refresh: bool = True,
    ) -> None:
        self._client = client
        self._index = index_name
        self._dimensions = dimensions
        self._serverless = serverless
        self._space_type = space_type
        # Read-your-writes on managed domains: a created memory is searchable when create returns.
        # Serverless has no refresh control (documents are searchable within seconds).
        self._refresh = refresh and not serverless

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Any) -> OpenSearchIndex:
        endpoint = settings.opensearch_endpoint
        if not endpoint:
            raise IndexUnavailable("ENGRAM_OPENSEARCH_ENDPOINT is not set")
        dims = _dimensions_for(settings)
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        if parsed.scheme == "http" or parsed.username:
            return cls.from_url(endpoint, settings.opensearch_index, dims)  # self-hosted / tests
        import boto3
        from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

        credentials = boto3.Session().get_credentials()
        auth = AWSV4SignerAuth(credentials, settings.region, settings.opensearch_service)
        client = OpenSearch(
            hosts=[{"host": parsed.hostname, "port": parsed.port or 443}],
            http_auth=auth,
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,
            pool_maxsize=10,
            timeout=5,
            max_retries=2,
            retry_on_timeout=True,
        )
        return cls(client, settings.opensearch_index, dims, serverless=settings.opensearch_service == "aoss")

    @classmethod
    def from_url(cls, url: str, index_name: str, dimensions: int, **kwargs: Any) -> OpenSearchIndex:
        """Basic auth (``https://user:pass@host:9200``) or none (``http://localhost:9200``)."""
        from opensearchpy import OpenSearch

        parsed = urlparse(url)
        auth = (parsed.username, parsed.password or "") if parsed.username else None
        client = OpenSearch(
            hosts=[{"host": parsed.hostname, "port": parsed.port or (443 if parsed.scheme == "https" else 9200)}],
            http_auth=auth,
            use_ssl=parsed.scheme == "https",
            verify_certs=False,
            ssl_show_warn=False,
            timeout=10,
        )
        return cls(client, index_name, dimensions, **kwargs)

    # --- index ----------------------------------------------------------------------------------

    def mapping(self) -> dict[str, Any]:
        keyword = {"type": "keyword"}
        return {
            "settings": {"index": {"knn": True, "knn.algo_param.ef_search": EF_SEARCH}},
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "memory_id": keyword,
                    "tenant_id": keyword,
                    "namespace": keyword,
                    "type": keyword,
                    "tier": keyword,
                    "session_id": keyword,
                    "agent_id": keyword,
                    "entities": keyword,
                    "title": {"type": "text", "analyzer": "english"},
                    "text": {"type": "text", "index": False},
                    "content": {"type": "text", "analyzer": "english"},
                    "version": {"type": "long"},
                    "created_at": {"type": "double"},
                    "embedding": {
                        "type": "knn_vector",
                        "dimension": self._dimensions,
                        "method": {
                            "name": "hnsw",
                            "engine": "faiss",
                            "space_type": self._space_type,
                            "parameters": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION},
                        },
                    },
                },
            },
        }

    def ensure_index(self) -> None:
        from opensearchpy.exceptions import RequestError

        with _errors():
            if self._client.indices.exists(index=self._index):
                return
            try:
                self._client.indices.create(index=self._index, body=self.mapping())
            except RequestError as exc:
                if "resource_already_exists_exception" not in str(exc):
                    raise

    # --- writes ---------------------------------------------------------------------------------

    def _source(self, doc: IndexDoc) -> dict[str, Any]:
        return {
            "memory_id": doc.memory_id,
            "tenant_id": doc.tenant_id,
            "namespace": doc.namespace,
            "type": doc.type,
            "tier": doc.tier,
            "session_id": doc.session_id,
            "agent_id": doc.agent_id,
            "entities": list(doc.entities),
            "title": doc.title,
            "text": doc.text,
            "content": bm25_text(doc.title, doc.text, doc.entities, doc.context),
            "version": int(doc.version),
            "created_at": doc.created_at,
            "embedding": [float(x) for x in doc.embedding],
        }

    def upsert(self, docs: Sequence[IndexDoc]) -> dict[str, UpsertResult]:
        if not docs:
            return {}
        if self._serverless:
            return self._upsert_serverless(docs)
        lines: list[dict[str, Any]] = []
        for doc in docs:
            lines.append(
                {
                    "index": {
                        "_index": self._index,
                        "_id": _doc_id(doc.tenant_id, doc.memory_id),
                        "version": int(doc.version),
                        "version_type": "external",
                    }
                }
            )
            lines.append(self._source(doc))
        items = self._bulk(lines)
        results: dict[str, UpsertResult] = {}
        for doc, item in zip(docs, items, strict=False):
            status = int(item.get("status", 500))
            if status in (200, 201):
                results[doc.memory_id] = "indexed"
            elif status == 409:  # version_conflict_engine_exception: we already hold this or newer
                results[doc.memory_id] = "stale"
            else:
                raise IndexUnavailable(f"indexing {doc.memory_id} failed: {item.get('error')}")
        return results

    def _upsert_serverless(self, docs: Sequence[IndexDoc]) -> dict[str, UpsertResult]:
        held = self._held_copies([d.memory_id for d in docs])
        lines: list[dict[str, Any]] = []
        results: dict[str, UpsertResult] = {}
        for doc in docs:
            copies = [c for c in held.get(doc.memory_id, []) if c["tenant_id"] == doc.tenant_id]
            if any(c["version"] >= doc.version for c in copies):
                results[doc.memory_id] = "stale"
                continue
            for copy in copies:
                lines.append({"delete": {"_index": self._index, "_id": copy["_id"]}})
            lines.append({"index": {"_index": self._index}})
            lines.append(self._source(doc))
            results[doc.memory_id] = "indexed"
        if lines:
            for item in self._bulk(lines):
                if int(item.get("status", 500)) not in (200, 201, 404):
                    raise IndexUnavailable(f"serverless bulk write failed: {item.get('error')}")
        return results

    def _held_copies(self, memory_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        body = {
            "size": max(10, 4 * len(memory_ids)),
            "_source": ["memory_id", "tenant_id", "version"],
            "query": {"bool": {"filter": [{"terms": {"memory_id": list(memory_ids)}}]}},
        }
        with _errors():
            response = self._client.search(index=self._index, body=body)
        held: dict[str, list[dict[str, Any]]] = {}
        for hit in response.get("hits", {}).get("hits", []):
            src = hit.get("_source", {})
            held.setdefault(src.get("memory_id"), []).append(
                {"_id": hit["_id"], "tenant_id": src.get("tenant_id"), "version": int(src.get("version", 0))}
            )
        return held

    def delete(self, tenant_id: str, ids: Sequence[str], version: int | None = None) -> int:
        if not ids:
            return 0
        lines: list[dict[str, Any]] = []
        if self._serverless:
            held = self._held_copies(list(ids))
            for memory_id in ids:
                for copy in held.get(memory_id, []):
                    if copy["tenant_id"] == tenant_id and (version is None or copy["version"] < version):
                        lines.append({"delete": {"_index": self._index, "_id": copy["_id"]}})
        else:
            for memory_id in ids:
                action: dict[str, Any] = {"_index": self._index, "_id": _doc_id(tenant_id, memory_id)}
                if version is not None:
                    action.update(version=int(version), version_type="external")
                lines.append({"delete": action})
        if not lines:
            return 0
        removed = 0
        for item in self._bulk(lines):
            status = int(item.get("status", 500))
            if status == 200:
                removed += 1
            elif status not in (404, 409):  # already gone / a newer version is held
                raise IndexUnavailable(f"delete failed: {item.get('error')}")
        return removed

    def _bulk(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = "\n".join(json.dumps(line, separators=(",", ":")) for line in lines) + "\n"
        params: dict[str, Any] = {"refresh": "wait_for"} if self._refresh else {}
        with _errors():
            response = self._client.bulk(body=body, params=params)
        return [next(iter(item.values())) for item in response.get("items", [])]

    # --- reads ----------------------------------------------------------------------------------

    def _filter(self, tenant_id: str, filters: IndexFilters | None) -> list[dict[str, Any]]:
        f = filters or IndexFilters()
        clauses: list[dict[str, Any]] = [{"term": {"tenant_id": tenant_id}}]
        for field, values in (("namespace", f.namespaces), ("type", f.types), ("tier", f.tiers), ("memory_id", f.ids)):
            if values is not None:
                clauses.append({"terms": {field: list(values)}})
        for field, value in (("session_id", f.session_id), ("agent_id", f.agent_id)):
            if value is not None:
                clauses.append({"term": {field: value}})
        return clauses

    def knn(
        self, tenant_id: str, vector: Sequence[float], k: int, filters: IndexFilters | None = None
    ) -> list[IndexHit]:
        if k <= 0:
            return []
        body = {
            "size": k,
            "_source": {"includes": ["memory_id", "namespace", "version"]},
            "query": {
                "knn": {
                    "embedding": {
                        "vector": [float(x) for x in vector],
                        "k": k,
                        "filter": {"bool": {"filter": self._filter(tenant_id, filters)}},
                    }
                }
            },
        }
        return self._search(body, to_cosine=True)

    def text_search(self, tenant_id: str, query: str, k: int, filters: IndexFilters | None = None) -> list[IndexHit]:
        if k <= 0 or not query.strip():
            return []
        body = {
            "size": k,
            "_source": {"includes": ["memory_id", "namespace", "version", "embedding"]},
            "query": {
                "bool": {
                    "must": [{"match": {"content": {"query": query}}}],
                    "filter": self._filter(tenant_id, filters),
                }
            },
        }
        return self._search(body, to_cosine=False)

    def _search(self, body: dict[str, Any], *, to_cosine: bool) -> list[IndexHit]:
        with _errors():
            response = self._client.search(index=self._index, body=body)
        best: dict[str, IndexHit] = {}
        for hit in response.get("hits", {}).get("hits", []):
            src = hit.get("_source", {})
            score = float(hit.get("_score") or 0.0)
            found = IndexHit(
                memory_id=str(src.get("memory_id")),
                score=self._cosine(score) if to_cosine else score,
                version=int(src.get("version", 0)),
                namespace=str(src.get("namespace", "")),
                embedding=src.get("embedding"),
            )
            current = best.get(found.memory_id)
            if current is None or found.version > current.version:  # serverless may hold stale copies
                best[found.memory_id] = found
        return sorted(best.values(), key=lambda h: -h.score)

    def _cosine(self, score: float) -> float:
        if self._space_type == "innerproduct":
            return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
        return 2.0 * score - 1.0

    def get(self, tenant_id: str, memory_id: str) -> IndexHit | None:
        body = {
            "size": 5,
            "_source": {"includes": ["memory_id", "namespace", "version", "embedding"]},
            "query": {"bool": {"filter": self._filter(tenant_id, IndexFilters(ids=(memory_id,)))}},
        }
        hits = self._search(body, to_cosine=False)
        if not hits:
            return None
        hits[0].score = 0.0
        return hits[0]

    def count(self, tenant_id: str | None = None, namespace: str | None = None) -> int:
        if tenant_id is None:
            query: dict[str, Any] = {"match_all": {}}
        else:
            filters = IndexFilters(namespaces=(namespace,)) if namespace else None
            query = {"bool": {"filter": self._filter(tenant_id, filters)}}
        with _errors():
            response = self._client.count(index=self._index, body={"query": query})
        return int(response.get("count", 0))

    def clear(self, tenant_id: str | None = None) -> None:
        """Delete every document (of one tenant, or all); used by reindex."""
        query: dict[str, Any] = {"match_all": {}} if tenant_id is None else {"term": {"tenant_id": tenant_id}}
        with _errors():
            self._client.delete_by_query(index=self._index, body={"query": query}, params={"conflicts": "proceed"})


def _doc_id(tenant_id: str, memory_id: str) -> str:
    return f"{tenant_id}/{memory_id}"


def _dimensions_for(settings: Any) -> int:
    if settings.embedder == "local":
        return 384
    return int(settings.embedding_dimensions)


class _errors:
    """Transport and server errors become IndexUnavailable (callers degrade or retry)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None:
            return False
        from opensearchpy.exceptions import OpenSearchException

        if isinstance(exc, OpenSearchException) and not _is_request_error(exc):
            raise IndexUnavailable(f"OpenSearch failed: {exc}") from exc
        return False


def _is_request_error(exc: BaseException) -> bool:
    from opensearchpy.exceptions import RequestError

    return isinstance(exc, RequestError)
