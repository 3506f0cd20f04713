// Engram memory inspector: plain DOM, no framework, no build step. Each view is a URL fragment
// (#view=memories&namespace=…); the API key lives in this tab's sessionStorage only.
"use strict";
(() => {
  const KEY_STORE = "engram.apiKey";
  const BASE = location.pathname.replace(/\/ui\/?$/, ""); // the API's root on this origin
  const TIERS = ["critical", "high", "normal"];
  const TYPES = ["identity", "preference", "decision", "fact", "goal", "constraint", "relationship", "event", "summary", "other"];
  const STATUSES = ["active", "ended", "closed", "expired", "completed"];
  const main = document.getElementById("main");
  let renders = 0;
  let openapi = null; // the server's OpenAPI document (a promise), for feature detection
  let flash = null; // what the last action did, shown once the view has re-rendered

  // --- DOM ------------------------------------------------------------------------------------

  // h("a", {href: "#", class: "x", onclick: fn}, "text", child, [more]) → element
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "class") el.className = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return h("time", { datetime: iso, title: iso }, isNaN(d) ? iso : d.toLocaleString());
  }
  function fields(pairs) {
    return h("dl", { class: "fields" }, pairs.filter((p) => p).map(([k, v]) =>
      h("div", { class: v instanceof Element && v.tagName === "PRE" ? "wide" : null }, h("dt", {}, k), h("dd", {}, v ?? "—"))));
  }
  function json(value) {
    return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
  }
  function badge(text, kind) {
    return h("span", { class: `badge ${kind || ""}` }, text);
  }
  function unavailable(what) {
    return h("p", { class: "unavailable" }, `${what}: not available on this server.`);
  }
  function alertBox(error) {
    const text = error instanceof ApiError ? error.message : `Something went wrong in the page: ${error.message || error}`;
    return h("div", { class: "error", role: "alert" }, h("strong", {}, "Error: "), text,
      error.requestId ? h("span", { class: "muted" }, ` (request ${error.requestId})`) : null);
  }
  function status(region, content, isError) {
    region.replaceChildren(isError ? alertBox(content) : h("p", { role: "status" }, content));
  }
  function table(columns, rows, caption) {
    return h("div", { class: "table-wrap" }, h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([label, cell]) => h("td", { "data-label": label }, h("div", {}, cell(row)))))))));
  }
  function link(view, params) {
    const p = new URLSearchParams({ view });
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") p.set(k, v);
    return "#" + p.toString();
  }
  function memoryLink(id, text) {
    return h("a", { href: link("memory", { id }) }, text || id);
  }
  function sessionLink(id, text) {
    return id ? h("a", { href: link("session", { id }) }, text || id) : "—";
  }
  function select(name, label, options, value, anyLabel) {
    const id = `f-${name}`;
    return h("div", { class: "field" }, h("label", { for: id }, label),
      h("select", { id, name }, anyLabel ? h("option", { value: "" }, anyLabel) : null,
        options.map((o) => h("option", { value: o, selected: o === value }, o))));
  }
  function input(name, label, value, extra) {
    const id = `f-${name}`;
    return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name, value: value || "", ...extra }));
  }
  // A form whose submit becomes a new fragment (so filters can be linked and bookmarked).
  function filterForm(view, label, controls, keep) {
    return h("form", { class: "filters", "aria-label": label, onsubmit: (e) => {
      e.preventDefault();
      location.hash = link(view, { ...keep, ...Object.fromEntries(new FormData(e.target)) });
    } }, controls, h("button", { type: "submit" }, "Apply"));
  }

  // --- API ------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, requestId) {
      super(message);
      Object.assign(this, { status, code, requestId });
    }
  }

  async function api(method, path, { query, body } = {}) {
    const url = new URL(BASE + path, location.origin);
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
    } catch (e) {
      throw new ApiError(0, "network", `Could not reach the API (${e.message}).`);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      const message = err.message || (data && data.message) || `The API answered ${response.status} ${response.statusText}.`;
      throw new ApiError(response.status, err.code || `http_${response.status}`, message, data && data.request_id);
    }
    return data;
  }

  // Which endpoints this server has, from its OpenAPI document (views light up when they exist).
  function features() {
    openapi = openapi || api("GET", "/v1/openapi.json").then((spec) => ({ paths: {}, ...spec }), () => ({ paths: {} }));
    return openapi;
  }
  const operation = (spec, method, path) => (spec.paths[path] || {})[method];
  const has = (spec, method, path) => Boolean(operation(spec, method, path));
  const queryParams = (spec, method, path) => ((operation(spec, method, path) || {}).parameters || []).map((p) => p.name);
  function resolveRef(spec, schema) {
    for (let i = 0; schema && schema.$ref && i < 10; i++) {
      schema = schema.$ref.replace(/^#\//, "").split("/").reduce((node, part) => (node || {})[part], spec);
    }
    return schema || {};
  }
  // The JSON body's properties of an operation (name → schema), as the server declares them.
  function bodyFields(spec, method, path) {
    const content = (((operation(spec, method, path) || {}).requestBody || {}).content || {})["application/json"] || {};
    const properties = resolveRef(spec, content.schema).properties || {};
    return Object.fromEntries(Object.entries(properties).map(([name, schema]) => {
      const resolved = resolveRef(spec, schema);
      const choices = resolved.enum || (resolved.anyOf || []).flatMap((s) => resolveRef(spec, s).enum || []);
      return [name, { ...resolved, choices }];
    }));
  }

  // --- key ------------------------------------------------------------------------------------

  function keyForm(message) {
    const form = h("form", { class: "card", onsubmit: (e) => {
      e.preventDefault();
      const value = new FormData(e.target).get("key").trim();
      if (!value) return;
      sessionStorage.setItem(KEY_STORE, value);
      render();
    } },
    h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"),
      h("input", { id: "api-key", name: "key", type: "password", autocomplete: "off", required: true, spellcheck: "false" })),
    h("button", { type: "submit" }, "Connect"));
    return [h("h1", { tabindex: "-1" }, "Connect to Engram"),
      message ? alertBox(new ApiError(401, "unauthorized", message)) : null,
      h("p", {}, "Enter an API key of this Engram deployment. It is kept in this browser tab only (sessionStorage) and sent to this API alone."),
      form,
      h("p", { class: "muted" }, "Tip: open the page as ", h("code", {}, "/ui#key=<your key>"), ": a URL fragment never reaches a server log, and the page removes it from the address bar.")];
  }

  // --- memories -------------------------------------------------------------------------------

  async function memoriesView(p) {
    const spec = await features();
    const supersededParam = queryParams(spec, "get", "/v1/memories").find((n) => n.includes("superseded"));
    const filters = { namespace: p.get("namespace"), tier: p.get("tier"), type: p.get("type"), locked: p.get("locked"), superseded: p.get("superseded") };
    const form = filterForm("memories", "Filter memories", [
      input("namespace", "Namespace", filters.namespace, { list: "namespaces", placeholder: "any" }),
      select("tier", "Tier", TIERS, filters.tier, "any"),
      select("type", "Type", TYPES, filters.type, "any"),
      select("locked", "Locked", ["yes", "no"], filters.locked, "any"),
      supersededParam ? select("superseded", "Superseded", ["include"], filters.superseded, "hide")
        : h("p", { class: "unavailable field" }, "Superseded filter: not available on this server."),
    ], { q: p.get("q") });
    const search = h("form", { class: "search", role: "search", onsubmit: (e) => {
      e.preventDefault();
      const data = new FormData(e.target);
      location.hash = link("memories", { ...filters, q: data.get("q").trim(), threshold: data.get("threshold") });
    } }, h("div", { class: "field grow" }, h("label", { for: "q" }, "Search"),
      h("input", { id: "q", name: "q", type: "search", value: p.get("q") || "", placeholder: "What does the agent know about…" })),
    h("div", { class: "field" }, h("label", { for: "threshold" }, "Threshold"),
      h("input", { id: "threshold", name: "threshold", type: "number", min: 0, max: 10, step: 0.05, value: p.get("threshold") || "", placeholder: "default", class: "narrow" })),
    h("button", { type: "submit" }, "Search"));
    const body = p.get("q") ? await searchResults(p.get("q"), filters, p.get("threshold")) : await memoryList(p, filters, supersededParam);
    const back = p.get("q") ? h("p", {}, h("a", { href: link("memories", filters) }, "Clear the search")) : null;
    return [h("h1", { tabindex: "-1" }, "Memories"), search, form, back, body];
  }

  async function memoryList(p, filters, supersededParam) {
    const query = { namespace: filters.namespace, tier: filters.tier, type: filters.type, limit: 50, cursor: p.get("cursor") };
    if (supersededParam && filters.superseded === "include") query[supersededParam] = "true";
    const page = await api("GET", "/v1/memories", { query });
    let rows = page.data;
    if (filters.locked) rows = rows.filter((m) => m.locked === (filters.locked === "yes"));
    const namespaces = [...new Set(page.data.map((m) => m.namespace))].sort();
    return [h("datalist", { id: "namespaces" }, namespaces.map((n) => h("option", { value: n }))),
      h("p", { class: "count", role: "status" }, `${rows.length} shown of ${page.total_count} ${page.total_count === 1 ? "memory" : "memories"}`,
        filters.locked ? " (the locked filter applies to the memories loaded on this page)" : ""),
      rows.length ? table([
        ["Memory", (m) => [memoryLink(m.id, m.title || m.id), m.superseded_by ? badge("superseded", "warn") : null]],
        ["Text", (m) => h("span", { class: "clip" }, m.text)],
        ["Namespace", (m) => m.namespace],
        ["Type", (m) => m.type],
        ["Tier", (m) => [badge(m.tier, `tier-${m.tier}`), m.locked ? badge("locked", "lock") : null]],
        ["Feedback", (m) => String(m.feedback_score)],
        ["Accesses", (m) => String(m.access_count)],
        ["Updated", (m) => when(m.updated_at)],
      ], rows, "Memories, newest first") : h("p", {}, "No memories match these filters."),
      page.has_more ? h("p", {}, h("a", { href: link("memories", { ...filters, cursor: page.next_cursor }) }, "Next page →")) : null];
  }

  // The ranked results of a query with every score term as a stacked bar and the threshold as a line.
  async function searchResults(q, filters, threshold) {
    const out = await api("POST", "/v1/explain", { body: { query: q, namespace: filters.namespace || undefined,
      tier: filters.tier || undefined, type: filters.type || undefined, top_k: 20,
      threshold: threshold === null || threshold === "" ? undefined : Number(threshold) } });
    const results = out.results;
    const included = results.filter((r) => r.included).length;
    const lo = Math.min(0, ...results.map((r) => r.terms.reduce((s, t) => s + Math.min(0, t.contribution), 0)));
    const hi = Math.max(out.threshold, ...results.map((r) => r.terms.reduce((s, t) => s + Math.max(0, t.contribution), 0))) * 1.08;
    const scale = (v) => `${(100 * (v - lo)) / (hi - lo || 1)}%`;
    const names = [...new Set(results.flatMap((r) => r.terms.map((t) => t.name)))];
    return h("section", { "aria-labelledby": "results-title" },
      h("h2", { id: "results-title" }, `Results for “${out.query}”`),
      h("p", { role: "status", class: "count" }, `${included} of ${results.length} ranked ${results.length === 1 ? "memory is" : "memories are"} above the threshold ${out.threshold} (mode ${out.mode}, embedder ${out.breakdown.embedder}).`),
      names.length ? h("ul", { class: "legend", "aria-label": "Score terms" }, names.map((n) => h("li", {}, h("span", { class: `swatch term-${n}` }), n)),
        h("li", {}, h("span", { class: "swatch threshold-swatch" }), "threshold")) : null,
      results.length ? h("ol", { class: "results" }, results.map((r) => explainItem(r, out.threshold, lo, scale)))
        : h("p", {}, "Nothing in memory matches this query."));
  }

  function explainItem(r, threshold, lo, scale) {
    const bar = h("div", { class: "bar", role: "img",
      "aria-label": `score ${r.score.toFixed(3)}: ${r.terms.map((t) => `${t.name} ${t.contribution.toFixed(3)}`).join(", ")}; threshold ${threshold}` });
    let pos = 0;
    let neg = 0;
    for (const t of r.terms) {
      if (!t.contribution) continue;
      const seg = h("span", { class: `seg term-${t.name}`, title: `${t.name}: ${t.weight} × ${t.value} = ${t.contribution.toFixed(3)}`, "data-term": t.name });
      const start = t.contribution > 0 ? pos : neg + t.contribution;
      seg.style.left = scale(start);
      seg.style.width = `calc(${scale(start + Math.abs(t.contribution))} - ${scale(start)})`;
      if (t.contribution > 0) pos += t.contribution; else { neg += t.contribution; seg.classList.add("negative"); }
      bar.append(seg);
    }
    const line = h("span", { class: "threshold", title: `threshold ${threshold}` });
    line.style.left = scale(threshold);
    const zero = lo < 0 ? h("span", { class: "zero" }) : null;
    if (zero) zero.style.left = scale(0);
    bar.append(line, zero || "");
    return h("li", { class: `result ${r.included ? "included" : "excluded"}` },
      h("div", { class: "result-head" }, memoryLink(r.memory_id, r.title || r.memory_id), " ", badge(r.tier, `tier-${r.tier}`),
        " ", badge(r.included ? "included" : "below threshold", r.included ? "ok" : "warn"),
        h("span", { class: "score" }, `score ${r.score.toFixed(3)}`)),
      bar,
      h("details", {}, h("summary", {}, r.reason),
        table([["Term", (t) => t.name], ["Weight", (t) => String(t.weight)], ["Value", (t) => String(+t.value.toFixed(4))],
          ["Contribution", (t) => t.contribution.toFixed(4)]], r.terms, "Score terms (they add up to the score)")));
  }

  // --- one memory -----------------------------------------------------------------------------

  async function memoryView(p) {
    const id = p.get("id");
    const [memory, spec] = await Promise.all([api("GET", `/v1/memories/${encodeURIComponent(id)}`), features()]);
    const results = h("div", { class: "action-result", "aria-live": "polite" });
    const rerender = () => render();
    const act = async (fn, done) => {
      try { flash = done(await fn()); rerender(); } catch (e) { status(results, e, true); }
    };
    const here = `/v1/memories/${encodeURIComponent(memory.id)}`;
    const reinforced = (o) => `${o.message} Feedback score ${o.feedback_score}, tier ${o.new_tier}.`;
    const reason = h("input", { id: "reason", name: "reason", placeholder: "optional" });
    const lockTier = select("lock-tier", "Tier", TIERS, memory.tier);
    const sourceOf = (s) => s && s.session_id ? [sessionLink(s.session_id), s.turn !== null && s.turn !== undefined ? ` turn ${s.turn}` : "",
      s.extracted ? " (extracted" + (s.confidence !== null && s.confidence !== undefined ? `, confidence ${s.confidence}` : "") + ")" : ""] : null;
    return [
      h("p", { class: "crumbs" }, h("a", { href: link("memories", { namespace: memory.namespace }) }, `← Memories in ${memory.namespace}`)),
      h("h1", { tabindex: "-1" }, memory.title || memory.id),
      h("blockquote", { class: "memory-text" }, memory.text),
      memory.superseded_by ? h("p", { class: "warn-box" }, "Superseded by ", memoryLink(memory.superseded_by), ".") : null,
      fields([
        ["Id", h("code", {}, memory.id)], ["Namespace", memory.namespace], ["Type", memory.type],
        ["Tier", [badge(memory.tier, `tier-${memory.tier}`), memory.locked ? badge("locked", "lock") : null]],
        ["Feedback score", String(memory.feedback_score)], ["Accesses", String(memory.access_count)],
        ["Strength", String(memory.strength)], ["Entities", memory.entities.length ? memory.entities.join(", ") : "—"],
        ["Source", sourceOf(memory.source)], ["Session", sessionLink(memory.session_id)], ["Agent", memory.agent_id],
        "supersedes" in memory ? ["Supersedes", [].concat(memory.supersedes || []).length
          ? [].concat(memory.supersedes).map((id, i) => [i ? ", " : "", memoryLink(id)]) : "—"] : null,
        "valid_from" in memory ? ["Valid from", when(memory.valid_from)] : null,
        "valid_until" in memory ? ["Valid until", when(memory.valid_until)] : null,
        ["Created", when(memory.created_at)], ["Updated", when(memory.updated_at)], ["Last accessed", when(memory.last_accessed_at)],
        ["Metadata", Object.keys(memory.metadata || {}).length ? json(memory.metadata) : "—"],
      ]),
      h("section", { "aria-labelledby": "actions-title", class: "card" },
        h("h2", { id: "actions-title" }, "Actions"),
        results,
        h("div", { class: "actions" },
          h("div", { class: "field" }, h("label", { for: "reason" }, "Reason"), reason),
          h("button", { type: "button", onclick: () => act(() => api("POST", `${here}/reinforce`, { body: { value: 1, reason: reason.value || undefined } }), reinforced) }, "Reinforce +1"),
          h("button", { type: "button", onclick: () => act(() => api("POST", `${here}/reinforce`, { body: { value: -1, reason: reason.value || undefined } }), reinforced) }, "Reinforce −1")),
        h("div", { class: "actions" }, memory.locked
          ? h("button", { type: "button", onclick: () => act(() => api("DELETE", `${here}/lock`), (o) => o.message) }, "Unlock tier")
          : [lockTier, h("button", { type: "button", onclick: () => act(() => api("POST", `${here}/lock`, { body: { tier: lockTier.querySelector("select").value } }), (o) => o.message) }, "Lock tier")]),
        editForm(memory, results),
        deleteControl(memory, results)),
      h("section", { "aria-labelledby": "sources-title" }, h("h2", { id: "sources-title" }, "Sources"),
        Array.isArray(memory.sources)
          ? (memory.sources.length ? h("ul", {}, memory.sources.map((s) => h("li", {}, sourceOf(s) || json(s)))) : h("p", {}, "No recorded sources."))
          : [memory.source ? h("p", {}, "Created from ", sourceOf(memory.source) || "a direct API call", ".") : null, unavailable("Lineage (every session and turn that reinforced it)")]),
      h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "History"),
        has(spec, "get", "/v1/memories/{id}/history") ? await historyList(id) : unavailable("History")),
    ];
  }

  async function historyList(id) {
    try {
      const out = await api("GET", `/v1/memories/${encodeURIComponent(id)}/history`);
      const changes = out.data || out.history || out.changes || [];
      if (!changes.length) return h("p", {}, "No recorded changes.");
      const changed = (c) => c.changes || c.fields || (c.before || c.after ? { before: c.before, after: c.after } : null);
      return h("ol", { class: "history" }, changes.map((c) => h("li", {}, when(c.at || c.created_at || c.time), " ",
        h("strong", { class: "change" }, c.change || c.cause || c.action || c.event || "change"),
        c.change && c.cause ? [" ", badge(`cause: ${c.cause}`, "cause")] : null,
        c.session_id ? [" in ", sessionLink(c.session_id)] : null,
        c.note ? h("span", { class: "muted" }, ` — ${c.note}`) : null,
        changed(c) && Object.keys(changed(c)).length ? changeFields(changed(c)) : null)));
    } catch (e) {
      return alertBox(e);
    }
  }

  // A history event's fields: times (epoch seconds) as times, ids of memories as links, the rest as text.
  function changeFields(values) {
    const label = (k) => k.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    const show = (k, v) => {
      if (typeof v === "number" && /(_at|_from|_until)$/.test(k)) return when(new Date(v * 1000).toISOString());
      if (typeof v === "string" && v.startsWith("mem_")) return memoryLink(v);
      if (Array.isArray(v)) return v.length ? v.map((x, i) => [i ? ", " : "", show(k, x)]) : "—";
      return v !== null && typeof v === "object" ? json(v) : String(v);
    };
    return fields(Object.entries(values).map(([k, v]) => [label(k), show(k, v)]));
  }

  function editForm(memory, results) {
    const form = h("form", { class: "edit", onsubmit: async (e) => {
      e.preventDefault();
      const data = Object.fromEntries(new FormData(e.target));
      const patch = {};
      for (const k of ["title", "text", "namespace", "type"]) if (data[k] !== memory[k]) patch[k] = data[k];
      const entities = data.entities.split(",").map((s) => s.trim()).filter(Boolean);
      if (entities.join(",") !== memory.entities.join(",")) patch.entities = entities;
      if (!Object.keys(patch).length) return status(results, "Nothing changed.");
      try {
        await api("PATCH", `/v1/memories/${encodeURIComponent(memory.id)}`, { body: patch });
        flash = `Saved: ${Object.keys(patch).join(", ")}.`;
        render();
      } catch (err) { status(results, err, true); }
    } },
    input("title", "Title", memory.title, { maxlength: 500 }),
    h("div", { class: "field" }, h("label", { for: "f-text" }, "Text"), h("textarea", { id: "f-text", name: "text", rows: 4 }, memory.text)),
    input("namespace", "Namespace", memory.namespace),
    select("type", "Type", TYPES, memory.type),
    input("entities", "Entities (comma separated)", memory.entities.join(", ")),
    h("button", { type: "submit" }, "Save changes"));
    return h("details", { class: "edit-box" }, h("summary", {}, "Edit"), form);
  }

  function deleteControl(memory, results) {
    const confirmBox = h("div", { class: "confirm", hidden: true },
      h("p", {}, "Delete this memory for good? It leaves search and every future context."),
      h("button", { type: "button", class: "danger", onclick: async () => {
        try {
          const answer = await api("DELETE", `/v1/memories/${encodeURIComponent(memory.id)}`);
          const receipt = answer && answer.receipt;
          main.replaceChildren(h("h1", { tabindex: "-1" }, "Memory deleted"),
            h("p", { role: "status" }, `${memory.title || memory.id} was deleted. The receipt:`),
            receipt ? h("div", { class: "receipt" }, fields([["Receipt", h("code", {}, receipt.id)], ["Memories deleted", receipt.memories_deleted.join(", ") || "—"],
              ["Memories kept", receipt.memories_kept.map((k) => `${k.id} (${k.reason})`).join(", ") || "—"],
              Array.isArray(receipt.memories_restored) ? ["Memories restored", receipt.memories_restored.join(", ") || "—"] : null,
              ["Index entries removed", String(receipt.index_entries_removed)], ["When", when(receipt.created_at)]]),
              h("p", {}, h("a", { href: link("deletions") }, "See it in the deletions log")))
              : fields(Object.entries(answer || {}).map(([k, v]) => [k, typeof v === "object" ? json(v) : String(v)])),
            h("p", {}, h("a", { href: link("memories", { namespace: memory.namespace }) }, "Back to the memories")));
          main.querySelector("h1").focus();
        } catch (e) { status(results, e, true); }
      } }, "Delete permanently"),
      h("button", { type: "button", onclick: () => { confirmBox.hidden = true; opener.focus(); } }, "Cancel"));
    const opener = h("button", { type: "button", class: "danger", onclick: () => { confirmBox.hidden = false; confirmBox.querySelector("button").focus(); } }, "Delete…");
    return h("div", { class: "actions" }, opener, confirmBox);
  }

  // --- sessions -------------------------------------------------------------------------------

  async function sessionsView(p) {
    const query = { status: p.get("status"), namespace: p.get("namespace"), agent_id: p.get("agent_id"), key_prefix: p.get("key_prefix") };
    const page = await api("GET", "/v1/sessions", { query: { ...query, limit: 50, cursor: p.get("cursor") } });
    return [h("h1", { tabindex: "-1" }, "Sessions"),
      filterForm("sessions", "Filter sessions", [select("status", "Status", STATUSES, query.status, "any"),
        input("namespace", "Namespace", query.namespace), input("agent_id", "Agent", query.agent_id), input("key_prefix", "Key prefix", query.key_prefix)]),
      h("p", { class: "count", role: "status" }, `${page.data.length} shown of ${page.total_count} ${page.total_count === 1 ? "session" : "sessions"}`),
      page.data.length ? table([
        ["Session", (s) => sessionLink(s.id, s.title || s.key || s.id)],
        ["Status", (s) => badge(s.status, `status-${s.status}`)],
        ["Outcome", (s) => s.outcome || "—"],
        ["Agent", (s) => s.agent_id || "—"],
        ["Turns", (s) => String(s.turn_count)],
        ["Messages", (s) => String(s.message_count)],
        ["Memories used", (s) => String(s.memories_used)],
        ["Started", (s) => when(s.started_at)],
        ["Last activity", (s) => when(s.last_activity_at)],
      ], page.data, "Sessions, newest first") : h("p", {}, "No sessions match these filters."),
      page.has_more ? h("p", {}, h("a", { href: link("sessions", { ...query, cursor: page.next_cursor }) }, "Next page →")) : null];
  }

  // Every page of a session's list (messages or turns), up to `pages` pages of 100.
  async function allOf(id, what, pages) {
    const items = [];
    let cursor = null;
    for (let i = 0; i < pages; i++) {
      const page = await api("GET", `/v1/sessions/${encodeURIComponent(id)}/${what}`, { query: { limit: 100, cursor } });
      items.push(...page.data);
      if (!page.has_more) return { items, complete: true };
      cursor = page.next_cursor;
    }
    return { items, complete: false };
  }

  // A memory a turn named: a link with its title now, or its id marked deleted.
  function turnMemory(m) {
    return h("li", {}, m.exists ? memoryLink(m.id, m.title || m.id) : [h("code", {}, m.id), " ", badge("deleted", "warn")],
      m.group ? [" ", badge(m.group, `tier-${m.group}`)] : null,
      typeof m.score === "number" ? h("span", { class: "muted" }, ` score ${m.score.toFixed(3)}`) : null);
  }

  function injectedBlock(entry, label) {
    const stats = entry.stats;
    return h("div", { class: "injected" }, h("h4", {}, label),
      entry.injected.length ? h("ul", { class: "memory-refs" }, entry.injected.map(turnMemory)) : h("p", { class: "muted" }, "No memories injected."),
      stats ? h("p", { class: "muted" }, `${stats.tokens_injected} tokens: ${stats.critical_count} critical, ${stats.high_count} high${stats.truncated ? " (truncated by the token budget)" : ""}.`) : null);
  }

  function turnDetails(entry) {
    if (!entry) return null;
    return [entry.memories_used.length ? h("div", { class: "used" }, h("h4", {}, "Memories used"), h("ul", { class: "memory-refs" }, entry.memories_used.map(turnMemory))) : null,
      entry.unknown_memories.length ? h("p", { class: "muted" }, "Reported but unknown: ", entry.unknown_memories.join(", ")) : null,
      entry.refresh_needed ? injectedBlock(entry, "Context injected by the refresh") : null];
  }

  async function sessionView(p) {
    const id = p.get("id");
    const spec = await features();
    const hasTurns = has(spec, "get", "/v1/sessions/{id}/turns");
    // the turn log: the start (turn 0: what was injected), each turn (memories used, a refresh's context)
    const [session, { items: messages, complete }, turnLog] = await Promise.all([
      api("GET", `/v1/sessions/${encodeURIComponent(id)}`, { query: { include_memories: "true", include_messages: "false" } }),
      allOf(id, "messages", 50), hasTurns ? allOf(id, "turns", 20) : Promise.resolve({ items: [] })]);
    const entries = new Map(turnLog.items.map((t) => [t.turn_number, t]));
    const start = entries.get(0);
    // Messages grouped by the turn that recorded them; messages appended outside a turn stand alone.
    const groups = [];
    for (const m of messages) {
      const last = groups[groups.length - 1];
      if (last && m.turn_number !== null && last.turn === m.turn_number) last.messages.push(m);
      else groups.push({ turn: m.turn_number, messages: [m] });
    }
    const extracted = session.memories || [];
    return [
      h("p", { class: "crumbs" }, h("a", { href: link("sessions") }, "← Sessions")),
      h("h1", { tabindex: "-1" }, session.title || session.key || session.id),
      fields([["Id", h("code", {}, session.id)], session.key ? ["Key", h("code", {}, session.key)] : null,
        ["Status", badge(session.status, `status-${session.status}`)], ["Outcome", session.outcome],
        ["Agent", session.agent_id], ["Contributors", session.contributors.join(", ") || "—"],
        ["Namespace", session.namespace], ["Project", session.project],
        ["Turns", String(session.turn_count)], ["Messages", String(session.message_count)], ["Memories used", String(session.memories_used)],
        ["Started", when(session.started_at)], ["Last activity", when(session.last_activity_at)], ["Ended", when(session.ended_at)],
        ["Duration", `${session.duration_seconds} s`], ["Expires", when(session.expires_at)]]),
      h("p", {}, h("button", { type: "button", onclick: (e) => download(e.target, id) }, "Download export (JSON)")),
      h("section", { "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Summary"),
        session.summary ? h("p", { class: "summary" }, session.summary) : h("p", { class: "muted" }, "No summary yet.")),
      h("section", { "aria-labelledby": "context-title" }, h("h2", { id: "context-title" }, "Context (agent state)"),
        Object.keys(session.context || {}).length ? json(session.context) : h("p", { class: "muted" }, "Empty.")),
      h("section", { "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"),
        !complete ? h("p", { class: "warn-box" }, `Showing the first ${messages.length} messages.`) : null,
        hasTurns ? null : unavailable("Injected context and memories used per turn"),
        start || groups.length ? h("ol", { class: "timeline" },
          start ? h("li", { class: "turn start" }, h("h3", {}, "Start ", when(start.created_at)), injectedBlock(start, "Context injected at start")) : null,
          groups.map((g) => h("li", { class: "turn" },
            h("h3", {}, g.turn !== null ? `Turn ${g.turn}` : "Messages", " ", when(g.messages[0].created_at)),
            h("ul", { class: "messages" }, g.messages.map((m) => h("li", { class: `message role-${m.role}` },
              h("span", { class: "role" }, m.tool_name ? `${m.role} (${m.tool_name})` : m.role), h("p", {}, m.content)))),
            g.turn !== null ? turnDetails(entries.get(g.turn)) : null)))
          : h("p", { class: "muted" }, "No messages.")),
      h("section", { "aria-labelledby": "extracted-title" }, h("h2", { id: "extracted-title" }, "Memories from this session"),
        extracted.length ? table([["Memory", (m) => memoryLink(m.id, m.title || m.id)], ["Type", (m) => m.type],
          ["Tier", (m) => badge(m.tier, `tier-${m.tier}`)], ["How", (m) => (m.source && m.source.extracted ? `extracted${m.source.turn !== null && m.source.turn !== undefined ? ` (turn ${m.source.turn})` : ""}` : "saved")]],
        extracted, "Memories written from this session (extracted at its end or saved during it)")
          : h("p", { class: "muted" }, "None yet (extraction runs in the background after the session ends).")),
    ];
  }

  async function download(button, id) {
    button.disabled = true;
    try {
      const doc = await api("GET", `/v1/sessions/${encodeURIComponent(id)}/export`);
      const a = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" })), download: `${id}.json` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      button.after(alertBox(e));
    } finally {
      button.disabled = false;
    }
  }

  // --- misses, review, deletions --------------------------------------------------------------

  async function missesView(p) {
    const page = await api("GET", "/v1/memories/misses", { query: { limit: 50, cursor: p.get("cursor") } });
    return [h("h1", { tabindex: "-1" }, "Misses"),
      h("p", {}, "Questions memory could not answer, newest first. Grouped by meaning under ", h("a", { href: link("review") }, "Review"), "."),
      page.data.length ? table([["Query", (m) => m.query], ["Session", (m) => sessionLink(m.session_id)],
        ["Context", (m) => (m.context ? h("span", { class: "clip" }, m.context) : "—")], ["When", (m) => when(m.created_at)]], page.data, "Logged misses")
        : h("p", {}, "No misses logged."),
      page.has_more ? h("p", {}, h("a", { href: link("misses", { cursor: page.next_cursor }) }, "Next page →")) : null];
  }

  async function reviewView(p) {
    const spec = await features();
    return [h("h1", { tabindex: "-1" }, "Review"),
      h("section", { "aria-labelledby": "conflicts-title" }, h("h2", { id: "conflicts-title" }, "Conflicts"),
        has(spec, "get", "/v1/memories/conflicts") ? await conflictsList(spec) : unavailable("The conflicts queue")),
      h("section", { "aria-labelledby": "clusters-title" }, h("h2", { id: "clusters-title" }, "Miss clusters"),
        has(spec, "get", "/v1/memories/misses/clusters") ? await clusterList(spec, p) : unavailable("Miss clusters"))];
  }

  const listOf = (out, ...names) => (Array.isArray(out) ? out : names.map((n) => out[n]).find(Array.isArray) || []);

  // A conflict's memory: embedded in the conflict, or named by id and read here.
  async function sideOf(c, which) {
    const embedded = c[`${which}_memory`] || c[which];
    if (embedded && typeof embedded === "object") return embedded;
    const id = c[`${which}_memory_id`] || c[`${which}_id`] || (typeof embedded === "string" ? embedded : null);
    if (!id) return null;
    try { return await api("GET", `/v1/memories/${encodeURIComponent(id)}`); } catch (e) { return { id, text: e.message }; }
  }

  async function conflictsList(spec) {
    const out = await api("GET", "/v1/memories/conflicts", { query: { limit: 50 } });
    const conflicts = listOf(out, "data", "conflicts");
    const done = h("div", { "aria-live": "polite" });
    if (!conflicts.length) return h("p", {}, "No conflicts waiting for review.");
    const resolvePath = "/v1/memories/conflicts/{id}/resolve";
    const choiceField = (Object.entries(bodyFields(spec, "post", resolvePath)).find(([, s]) => s.choices.includes("keep_new")) || ["action"])[0];
    const list = h("ul", { class: "conflicts" });
    for (const c of conflicts) {
      const [newer, older] = await Promise.all([sideOf(c, "new"), sideOf(c, "old")]);
      const region = h("div", { "aria-live": "polite" });
      const side = (label, m) => h("div", { class: "side" }, h("h3", {}, label),
        m ? [h("blockquote", {}, m.text || ""), h("p", { class: "muted" }, memoryLink(m.id), " · ", when(m.created_at))] : h("p", {}, "—"));
      const resolve = (choice) => async () => {
        try {
          await api("POST", `/v1/memories/conflicts/${encodeURIComponent(c.id)}/resolve`, { body: { [choiceField]: choice } });
          item.remove();
          status(done, `Conflict resolved: ${choice.replace("_", " ")}.`);
          if (!list.children.length) list.replaceWith(h("p", {}, "No conflicts waiting for review."));
        } catch (e) { status(region, e, true); }
      };
      const item = h("li", { class: "conflict card", "data-conflict": c.id },
        h("div", { class: "sides" }, side("New", newer), side("Old", older)),
        c.reason ? h("p", { class: "muted" }, c.reason) : null,
        has(spec, "post", resolvePath) ? h("div", { class: "actions" }, [["keep_new", "Keep new"], ["keep_old", "Keep old"], ["keep_both", "Keep both"]]
          .map(([choice, label]) => h("button", { type: "button", onclick: resolve(choice) }, label))) : unavailable("Resolving"),
        region);
      list.append(item);
    }
    return [done, list];
  }

  // Misses grouped by meaning (optionally in one namespace), each with a replay button: replay asks
  // the cluster's questions again and says which today's memory answers, with the best memory's
  // score against the threshold. A cluster id only means something under the same filters, so the
  // namespace shown is sent with the replay.
  async function clusterList(spec, p) {
    const namespace = (p && p.get("namespace")) || undefined;
    const canFilter = queryParams(spec, "get", "/v1/memories/misses/clusters").includes("namespace");
    const out = await api("GET", "/v1/memories/misses/clusters", { query: { namespace: canFilter ? namespace : undefined, cursor: p && p.get("cursor") } });
    const clusters = listOf(out, "data", "clusters");
    const canReplay = has(spec, "post", "/v1/memories/misses/replay");
    const replayFields = bodyFields(spec, "post", "/v1/memories/misses/replay");
    const clusterField = Object.keys(replayFields).find((n) => n.startsWith("cluster"));
    const scope = namespace && replayFields.namespace ? { namespace } : {};
    const region = h("div", { class: "action-result", "aria-live": "polite" });
    const topOf = (r) => r.top || (r.results || r.memories || [])[0] || r.memory;
    const replay = async (button, body) => {
      button.disabled = true;
      try {
        const result = await api("POST", "/v1/memories/misses/replay", { body: { ...scope, ...body } });
        const rows = listOf(result, "data", "results", "replayed");
        const threshold = typeof result.threshold === "number" ? result.threshold : null;
        const totals = typeof result.replayed === "number"
          ? h("p", { class: "replay-totals" }, `${result.answered} of ${result.replayed} now answered, ${result.unanswered} still unanswered`,
            threshold === null ? "" : ` (threshold ${threshold})`, result.more_misses ? "; more misses match than were replayed." : ".")
          : null;
        const score = (r) => {
          const top = topOf(r);
          if (!top || typeof top.score !== "number") return "—";
          return threshold === null ? top.score.toFixed(3) : `${top.score.toFixed(3)} ${top.score >= threshold ? "≥" : "<"} ${threshold}`;
        };
        region.replaceChildren(h("h3", {}, "Replay"), totals, rows.length ? table([["Query", (r) => r.query || "—"],
          ["Now answered", (r) => ((r.answered ?? r.hit ?? (r.results || []).length > 0) ? badge("yes", "ok") : badge("no", "warn"))],
          ["Best memory", (r) => { const top = topOf(r); return top ? memoryLink(top.id || top.memory_id, top.title) : "—"; }],
          ["Score", score]], rows, "Replayed misses") : (totals ? null : json(result)));
      } catch (e) { status(region, e, true); } finally { button.disabled = false; }
    };
    const examplesOf = (c) => c.queries || (c.examples || c.misses || []).map((m) => m.query);
    const filter = canFilter ? filterForm("review", "Filter miss clusters",
      [input("namespace", "Namespace", namespace, { placeholder: "any" })]) : null;
    return [filter, clusters.length ? table([
      ["Misses", (c) => String(c.count ?? c.size ?? examplesOf(c).length)],
      ["Representative query", (c) => c.representative || c.label || c.query || examplesOf(c)[0] || "—"],
      ["Examples", (c) => h("ul", {}, examplesOf(c).slice(0, 5).map((q) => h("li", {}, q)))],
      ["Last asked", (c) => when(c.last_seen)],
      ["Replay", (c) => (canReplay && clusterField ? h("button", { type: "button", "aria-label": `Replay ${c.count ?? ""} misses like: ${c.representative || c.label || ""}`.replace(/\s+/g, " "),
        onclick: (e) => replay(e.target, { [clusterField]: c.id }) }, "Replay") : "—")],
    ], clusters, "Misses grouped by meaning, biggest first") : h("p", {}, "No miss clusters."),
    out.has_more ? h("p", {}, h("a", { href: link("review", { namespace, cursor: out.next_cursor }) }, "More clusters →")) : null,
    canReplay ? h("p", {}, h("button", { type: "button", onclick: (e) => replay(e.target, {}) }, namespace ? `Replay the misses of ${namespace}` : "Replay all logged misses")) : unavailable("Replay"),
    region];
  }

  async function deletionsView(p) {
    const spec = await features();
    if (!has(spec, "get", "/v1/deletions")) return [h("h1", { tabindex: "-1" }, "Deletions"), unavailable("The deletion receipts log")];
    const out = await api("GET", "/v1/deletions", { query: { limit: 50, cursor: p.get("cursor") } });
    const rows = listOf(out, "data", "deletions", "receipts");
    const tally = (r) => r.counts || { "memories deleted": (r.memories_deleted || []).length, "memories kept": (r.memories_kept || []).length,
      "memories restored": (r.memories_restored || []).length, "messages purged": r.messages_purged || 0, "index entries removed": r.index_entries_removed || 0 };
    const counts = (r) => Object.entries(tally(r)).map(([k, v]) => `${k} ${v}`).join(", ") || "—";
    return [h("h1", { tabindex: "-1" }, "Deletions"),
      h("p", {}, "Receipts of what was deleted: ids and counts, never the deleted text."),
      rows.length ? table([["Receipt", (r) => h("code", {}, r.id || r.receipt_id || "—")], ["What", (r) => r.kind || r.type || r.scope || r.cause || "—"],
        ["Target", (r) => h("code", {}, r.target_id || r.memory_id || r.session_id || (r.memories_deleted || [])[0] || "—")], ["Counts", counts],
        ["When", (r) => when(r.created_at || r.deleted_at || r.at)]], rows, "Deletion receipts, newest first")
        : h("p", {}, "No deletions recorded."),
      out.has_more ? h("p", {}, h("a", { href: link("deletions", { cursor: out.next_cursor }) }, "Next page →")) : null];
  }

  // --- router ---------------------------------------------------------------------------------

  const VIEWS = { memories: memoriesView, memory: memoryView, sessions: sessionsView, session: sessionView,
    misses: missesView, review: reviewView, deletions: deletionsView };
  const SECTION = { memory: "memories", session: "sessions" };

  async function render() {
    const p = new URLSearchParams(location.hash.slice(1));
    if (p.has("key")) { // a key passed in the fragment: keep it for this tab, take it out of the address bar
      sessionStorage.setItem(KEY_STORE, p.get("key"));
      p.delete("key");
      history.replaceState(null, "", `${location.pathname}${location.search}#${p.toString()}`);
    }
    const view = VIEWS[p.get("view")] ? p.get("view") : "memories";
    for (const a of document.querySelectorAll("nav a")) {
      if (a.dataset.view === (SECTION[view] || view)) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    const forget = document.getElementById("forget-key");
    const token = ++renders;
    if (!sessionStorage.getItem(KEY_STORE)) {
      forget.hidden = true;
      main.replaceChildren(...keyForm());
      return;
    }
    forget.hidden = false;
    main.setAttribute("aria-busy", "true");
    main.replaceChildren(h("p", { role: "status" }, "Loading…"));
    let nodes;
    try {
      nodes = await VIEWS[view](p);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        sessionStorage.removeItem(KEY_STORE);
        forget.hidden = true;
        nodes = keyForm(e.message);
      } else {
        nodes = [h("h1", { tabindex: "-1" }, "Could not load this view"), alertBox(e), h("p", {}, h("a", { href: link("memories") }, "Back to the memories"))];
      }
    }
    if (token !== renders) return; // a newer navigation won
    main.removeAttribute("aria-busy");
    main.replaceChildren(append(document.createDocumentFragment(), [nodes]));
    const heading = main.querySelector("h1");
    if (heading && flash) heading.after(h("p", { role: "status", class: "flash" }, flash));
    flash = null;
    if (heading) heading.focus({ preventScroll: true });
  }

  document.getElementById("forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); render(); });
  document.getElementById("skip").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
  window.addEventListener("hashchange", render);
  window.addEventListener("unhandledrejection", (e) => main.prepend(alertBox(e.reason || "unknown error")));
  window.addEventListener("error", (e) => main.prepend(alertBox(e.error || e.message)));
  render();
})();
