// The editor's page: sends the story to the public API (POST /v1/tag) and shows what came back.
// Highlights use the response's UTF-16 offsets (start_utf16/end_utf16), which is how JavaScript
// strings count, so text.slice(start, end) is exactly each mention. For HTML (format: html) the page
// shows what a reader sees, the response's visible_text, with the visible_*_utf16 offsets. Everything is written with
// textContent: nothing from the story or the response is ever parsed as HTML.
"use strict";

(function () {
  const API = document.currentScript.dataset.api;
  const KEY_STORE = "newsroom-tagger-api-key";
  // Colour-blind-friendly pastel palette; labels take colours in the order the response lists them.
  const PALETTE = ["#ffd166", "#8ecae6", "#b5e48c", "#f4acb7", "#cdb4db", "#ffb703", "#90dbf4",
                   "#d9ed92", "#f1c0e8", "#a3c4f3"];

  const $ = (id) => document.getElementById(id);
  const form = $("tag-form");
  const keyInput = $("api-key");
  keyInput.value = sessionStorage.getItem(KEY_STORE) || "";

  function labelList(value) {
    const names = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    return names.length ? names : undefined;
  }

  function requestBody() {
    const body = { text: $("text").value };
    const title = $("title").value;
    if (title.trim()) body.title = title;
    const entities = labelList($("entity-labels").value);
    if (entities) body.entity_labels = entities;
    const topics = labelList($("topic-labels").value);
    if (topics) body.topic_labels = topics;
    const threshold = $("threshold").value;
    if (threshold !== "") body.threshold = Number(threshold);
    if ($("is-html").checked) body.format = "html";
    return body;
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  // Through the CSSOM, which the page's Content-Security-Policy allows (style attributes it does not).
  function coloured(node, colour) {
    node.style.setProperty("--label-colour", colour);
    return node;
  }

  function colours(entities) {
    const byLabel = new Map();
    for (const entity of entities) {
      if (!byLabel.has(entity.label)) byLabel.set(entity.label, PALETTE[byLabel.size % PALETTE.length]);
    }
    return byLabel;
  }

  // The string `source` with every mention of `field` wrapped in a <mark>, into `target`.
  // `visible`: offsets into the visible text of HTML rather than into the string sent.
  function highlight(target, source, field, entities, colourOf, visible) {
    const spans = [];
    for (const entity of entities) {
      for (const m of entity.mentions) {
        if (m.field !== field) continue;
        spans.push(visible
          ? { start: m.visible_start_utf16, end: m.visible_end_utf16, entity: entity, score: m.score }
          : { start: m.start_utf16, end: m.end_utf16, entity: entity, score: m.score });
      }
    }
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    target.replaceChildren();
    let at = 0;
    for (const span of spans) {
      if (span.start < at) continue; // overlaps the one before: keep the first
      target.append(source.slice(at, span.start));
      const mark = el("mark", source.slice(span.start, span.end), {
        "data-label": span.entity.label,
        "data-entity": span.entity.text,
        "data-start": String(span.start),
        title: `${span.entity.label}: ${span.entity.text} (score ${span.score.toFixed(2)})`,
      });
      target.append(coloured(mark, colourOf.get(span.entity.label)));
      at = span.end;
    }
    target.append(source.slice(at));
  }

  function show(result, sent) {
    const colourOf = colours(result.entities);
    const legend = $("legend");
    legend.replaceChildren();
    for (const [label, colour] of colourOf) {
      legend.append(coloured(el("span", label), colour));
    }
    const shown = result.visible_text; // present for format: html only
    highlight($("highlighted-title"), shown ? shown.title || "" : sent.title || "", "title", result.entities,
              colourOf, Boolean(shown));
    highlight($("highlighted"), shown ? shown.text : sent.text, "text", result.entities, colourOf, Boolean(shown));

    const rows = $("entities").tBodies[0];
    rows.replaceChildren();
    for (const entity of result.entities) {
      const row = el("tr");
      row.append(el("td", entity.text), el("td", entity.label), el("td", entity.score.toFixed(2)),
                 el("td", entity.relevance.toFixed(2)),
                 el("td", [...new Set(entity.mentions.map((m) => m.visible || m.text))].join(", ")));
      rows.append(row);
    }
    if (!result.entities.length) rows.append(el("tr")).append(el("td", "No entities found.", { colspan: "5" }));

    const topics = $("topics");
    topics.replaceChildren();
    for (const topic of result.topics) {
      const item = el("li");
      item.append(el("strong", topic.label), ` (score ${topic.score.toFixed(2)})`);
      for (const ev of topic.evidence) {
        item.append(el("blockquote", ev.visible || ev.text, { "data-topic": topic.label }));
      }
      topics.append(item);
    }
    if (!result.topics.length) topics.append(el("li", "No topics found."));

    $("raw").textContent = JSON.stringify(result, null, 2);
    $("results").hidden = false;
  }

  function showProblem(problem, status) {
    const box = $("problem");
    box.replaceChildren(el("strong", `${status} ${problem.title || "Error"}`), el("p", problem.detail || ""));
    if (problem.errors) box.append(el("pre", JSON.stringify(problem.errors, null, 2)));
    box.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    sessionStorage.setItem(KEY_STORE, key);
    const sent = requestBody();
    const headers = { "Content-Type": "application/json" };
    if (key) headers.Authorization = `Bearer ${key}`;
    const button = $("tag-button");
    button.disabled = true;
    $("status").textContent = "Tagging…";
    $("problem").hidden = true;
    const started = performance.now();
    try {
      const response = await fetch(API, { method: "POST", headers: headers, body: JSON.stringify(sent) });
      const body = await response.json();
      if (!response.ok) {
        showProblem(body, response.status);
        $("status").textContent = "";
        return;
      }
      show(body, sent);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      $("status").textContent = `${body.entities.length} entities, ${body.topics.length} topics in ${seconds} s`;
    } catch (err) {
      showProblem({ title: "The service did not answer", detail: String(err) }, "");
      $("status").textContent = "";
    } finally {
      button.disabled = false;
    }
  });
})();
