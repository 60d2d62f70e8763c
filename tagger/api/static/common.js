// Shared by the pages: element helper, API calls with human error messages, score chips
// that show how far a score is above the decision point (0.5), evidence highlighting and
// the theme legend.
"use strict";
const DECISION = 0.5;
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22"];

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const FIELD_NAMES = {abstract: "The abstract", title: "The title", id: "The id",
                     accept: "Accepted themes", reject: "Rejected themes", add: "Added themes"};

// One sentence a person can act on, from the API's {"error": {...}} body.
function humanError(status, body) {
  const error = body && body.error;
  if (!error) return "The server answered " + status + ". Try again in a moment.";
  if (status === 401) return "Your reviewer token was not accepted. Check it and sign in again.";
  if (status === 413) return "That text is too long for this server.";
  if (status === 503) return "The model is not loaded yet. Try again in a moment.";
  const details = error.details || {};
  const parts = [];
  for (const [field, messages] of Object.entries(details)) {
    const list = Array.isArray(messages) ? messages : [messages];
    for (const m of list) {
      const text = String(typeof m === "object" ? Object.values(m).flat().join(" ") : m);
      if (/blank|Shorter than minimum|Missing data/i.test(text) && field === "abstract") {
        parts.push("Please paste an abstract first.");
      } else if (/Longer than maximum length (\d+)/.test(text)) {
        parts.push((FIELD_NAMES[field] || field) + " is too long (at most "
                   + text.match(/Longer than maximum length (\d+)/)[1] + " characters).");
      } else if (text.toLowerCase().startsWith(field.toLowerCase() + " ")) {
        parts.push(text.charAt(0).toUpperCase() + text.slice(1));  // already a sentence
      } else if (field === "_schema") {
        parts.push(text);
      } else {
        parts.push((FIELD_NAMES[field] || field) + ": " + text.replace(/\.$/, "") + ".");
      }
    }
  }
  return parts.length ? parts.join(" ") : error.message;
}

// fetch JSON; resolves {ok, status, body}; network failures become a message too.
async function api(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    return {ok: false, status: 0, body: null, message: "Could not reach the server."};
  }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return {ok: response.ok, status: response.status, body,
          message: response.ok ? "" : humanError(response.status, body)};
}

// A button that shows a loading state while `work` runs.
async function withLoading(button, work) {
  button.disabled = true;
  button.classList.add("loading");
  try { return await work(); } finally {
    button.disabled = false;
    button.classList.remove("loading");
  }
}

function themeColors(themes) {
  const colors = {};
  themes.forEach((t, i) => { colors[t] = PALETTE[i % PALETTE.length]; });
  return colors;
}

// A chip: label, score, a bar and how far the score is above the decision point.
function scoreChip(tag, color) {
  const chip = el("span", {class: "chip", "data-theme": tag.theme, "data-score": tag.score});
  chip.style.background = color;
  const margin = tag.score - DECISION;
  const bar = el("span", {class: "bar", "aria-hidden": "true"});
  const fill = el("span");
  fill.style.width = Math.round(Math.min(1, Math.max(0, margin / (1 - DECISION))) * 100) + "%";
  bar.append(fill);
  chip.title = tag.label + ": score " + tag.score.toFixed(2) + ", "
    + (margin >= 0 ? margin.toFixed(2) + " above" : (-margin).toFixed(2) + " below")
    + " the decision point " + DECISION;
  chip.append(el("span", {class: "label"}, tag.label),
              el("span", {class: "score"}, tag.score.toFixed(2)), bar,
              el("span", {class: "margin"}, (margin >= 0 ? "+" : "−") + Math.abs(margin).toFixed(2)));
  return chip;
}

// Paint [start, end) spans of one field; overlapping spans merge, the first theme wins.
function paint(container, text, spans) {
  container.replaceChildren();
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  let pos = 0;
  for (const span of spans) {
    const start = Math.max(span.start, pos), end = Math.min(span.end, text.length);
    if (end <= start) continue;
    container.append(document.createTextNode(text.slice(pos, start)));
    const mark = el("mark", {"data-theme": span.theme,
                             title: span.theme + ": " + span.text + " (weight " + span.weight.toFixed(2) + ")"},
                    text.slice(start, end));
    mark.style.background = span.color + "33";
    mark.style.borderBottom = "2px solid " + span.color;
    container.append(mark);
    pos = end;
  }
  container.append(document.createTextNode(text.slice(pos)));
}

// Highlight the evidence of every theme in the title and abstract boxes.
function highlight(titleBox, abstractBox, title, abstract, evidence, colors) {
  const spans = {title: [], abstract: []};
  for (const [theme, records] of Object.entries(evidence || {})) {
    for (const r of records) {
      for (const s of r.spans) {
        spans[s.field].push({start: s.start, end: s.end, theme, text: r.text, weight: r.weight,
                             color: colors[theme] || "#888"});
      }
    }
  }
  paint(titleBox, title, spans.title);
  paint(abstractBox, abstract, spans.abstract);
}

// "phrase (weight)" list for one theme's evidence.
function evidenceList(records) {
  const list = el("ul", {class: "evidence"});
  for (const r of (records || []).slice(0, 6)) {
    const item = el("li", {}, r.text + " ");
    item.append(el("span", {class: "w"}, "weight " + r.weight.toFixed(2)));
    list.append(item);
  }
  return list;
}

let THEMES_CACHE = null;
async function loadThemes() {
  if (!THEMES_CACHE) {
    const result = await api("/v1/themes");
    THEMES_CACHE = result.ok ? result.body.themes : [];
  }
  return THEMES_CACHE;
}

// The legend: every theme's label and description, in a collapsible block.
async function renderLegend(container) {
  const themes = await loadThemes();
  const list = el("dl");
  for (const t of themes) {
    list.append(el("dt", {"data-theme": t.id}, t.label), el("dd", {}, t.description));
  }
  container.replaceChildren(el("summary", {}, "What the themes mean (" + themes.length + ")"), list);
}
