// The demo page: posts the textarea's lines to /v1/predict and draws one chip per mentioned aspect.
// No framework and no external file; every text from the server is inserted as text, never as HTML.
"use strict";

const form = document.getElementById("form");
const reviews = document.getElementById("reviews");
const button = document.getElementById("analyse");
const statusLine = document.getElementById("status");
const results = document.getElementById("results");
const errorBox = document.getElementById("error-box");
const errorText = document.getElementById("error");
const keyInput = document.getElementById("api-key");
const keyBox = document.getElementById("key-box");
const modelInfo = document.getElementById("model-info");
const explainBox = document.getElementById("explain");
// tokens whose contribution is under this share of the strongest are not highlighted
const MIN_SHARE = 0.05;

function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyInput.value) h["X-API-Key"] = keyInput.value;
  return h;
}

function showError(status, body) {
  results.replaceChildren();
  errorText.textContent = "HTTP " + status + "\n" + JSON.stringify(body, null, 2);
  errorBox.hidden = false;
  if (status === 401) keyBox.open = true;
}

async function readBody(response) {
  const raw = await response.text();
  try {
    return JSON.parse(raw);
  } catch (e) {
    return { error: { type: "not_json", message: raw.slice(0, 500) } };
  }
}

function chip(aspect, sentiment, probability) {
  const el = document.createElement("span");
  el.className = "chip " + sentiment;
  el.dataset.aspect = aspect;
  el.dataset.sentiment = sentiment;
  el.dataset.probability = String(probability);
  const name = document.createElement("span");
  name.className = "aspect";
  name.textContent = aspect + ": " + sentiment;
  const p = document.createElement("span");
  p.className = "probability";
  p.textContent = probability.toFixed(2);
  el.append(name, p);
  return el;
}

// Draw the review with the clicked aspect's evidence marked (offsets count code points, as in
// Python, so a review with characters outside the BMP is cut at the right places).
function showEvidence(textEl, text, evidence, aspect) {
  textEl.replaceChildren();
  if (!evidence) {
    textEl.textContent = text;
    return;
  }
  const chars = Array.from(text);
  const strongest = Math.max(1e-12, ...evidence.tokens.map((t) => Math.abs(t.contribution)));
  const tokens = evidence.tokens
    .filter((t) => Math.abs(t.contribution) >= MIN_SHARE * strongest)
    .sort((a, b) => a.start - b.start);
  let at = 0;
  for (const token of tokens) {
    if (token.start < at) continue;
    if (token.start > at) textEl.append(chars.slice(at, token.start).join(""));
    const mark = document.createElement("mark");
    mark.className = "evidence " + (token.contribution > 0 ? "for" : "against");
    mark.style.setProperty("--strength", (Math.abs(token.contribution) / strongest).toFixed(3));
    mark.dataset.contribution = String(token.contribution);
    mark.title = aspect + ": " + (token.contribution > 0 ? "+" : "") + token.contribution.toFixed(3);
    mark.textContent = chars.slice(token.start, token.end).join("");
    textEl.append(mark);
    at = token.end;
  }
  if (at < chars.length) textEl.append(chars.slice(at).join(""));
}

function makeExplainable(el, textEl, prediction, aspect, chipsEl) {
  const evidence = prediction.explanations[aspect];
  el.classList.add("explainable");
  el.setAttribute("role", "button");
  el.setAttribute("aria-pressed", "false");
  el.tabIndex = 0;
  const toggle = () => {
    const on = el.getAttribute("aria-pressed") !== "true";
    for (const other of chipsEl.querySelectorAll(".chip")) other.setAttribute("aria-pressed", "false");
    el.setAttribute("aria-pressed", String(on));
    showEvidence(textEl, prediction.text, on ? evidence : null, aspect);
  };
  el.addEventListener("click", toggle);
  el.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      toggle();
    }
  });
}

function render(predictions) {
  results.replaceChildren();
  for (const prediction of predictions) {
    const card = document.createElement("article");
    card.className = "review";
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = prediction.text;
    const chips = document.createElement("div");
    chips.className = "chips";
    const aspects = Object.entries(prediction.aspects);
    for (const [aspect, sentiment] of aspects) {
      const el = chip(aspect, sentiment, prediction.confidence[aspect]);
      if (prediction.explanations && prediction.explanations[aspect]) {
        makeExplainable(el, text, prediction, aspect, chips);
      }
      chips.append(el);
    }
    if (aspects.length === 0) {
      const none = document.createElement("span");
      none.className = "muted none";
      none.textContent = "no aspect mentioned";
      chips.append(none);
    }
    card.append(text, chips);
    results.append(card);
  }
}

async function analyse(event) {
  event.preventDefault();
  const texts = reviews.value.split("\n").map((t) => t.trim()).filter((t) => t.length > 0);
  errorBox.hidden = true;
  button.disabled = true;
  statusLine.textContent = "Analysing " + texts.length + " review(s)...";
  const started = performance.now();
  try {
    const response = await fetch("/v1/predict", {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ texts: texts, explain: explainBox.checked }),
    });
    const body = await readBody(response);
    if (!response.ok) {
      showError(response.status, body);
      statusLine.textContent = "";
      return;
    }
    render(body.predictions);
    const ms = Math.round(performance.now() - started);
    statusLine.textContent = body.predictions.length + " review(s) in " + ms + " ms";
  } catch (e) {
    showError(0, { error: { type: "network_error", message: String(e) } });
    statusLine.textContent = "";
  } finally {
    button.disabled = false;
  }
}

async function describeModel() {
  try {
    const response = await fetch("/v1/model", { headers: headers() });
    const body = await readBody(response);
    if (!response.ok) {
      modelInfo.textContent = "Model description unavailable (HTTP " + response.status + ").";
      if (response.status === 401) keyBox.open = true;
      return;
    }
    modelInfo.textContent =
      body.model + " (" + body.encoder + ", " + body.runtime + "): " + body.aspects.join(", ");
  } catch (e) {
    modelInfo.textContent = "Model description unavailable.";
  }
}

form.addEventListener("submit", analyse);
keyInput.addEventListener("change", describeModel);
describeModel();
