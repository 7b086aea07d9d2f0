// evpath dashboard: lists runs, draws the charts of the ticked ones, runs a bundled
// scenario with levers changed. Everything comes from the JSON API under /api.
"use strict";

const MAX_SHOWN = 6;
const FIRST_SCENARIO = "japan-2050";
const NUMBER_LEVERS = ["target_year", "grid_intensity", "hev_improvement", "collection_rate"];
const form = document.getElementById("levers");
const statusLine = document.getElementById("status");
let scenarios = [];
let shown = [];

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.message || response.statusText);
    error.problems = body.problems || [];
    throw error;
  }
  return body;
}

function say(text, problems = [], isError = false) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
  const list = document.getElementById("problems");
  list.replaceChildren(...problems.map((problem) => {
    const item = document.createElement("li");
    item.textContent = problem;
    return item;
  }));
}

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function loadRuns() {
  const runs = await api("/api/runs");
  const list = document.getElementById("run-list");
  list.replaceChildren(...runs.map((run) => {
    const box = element("input");
    box.type = "checkbox";
    box.value = run.run_id;
    box.checked = shown.includes(run.run_id);
    const label = element("label");
    const when = run.created_at.slice(0, 19).replace("T", " ");
    label.append(box, ` ${run.scenario} · ${when}${run.stored ? " · stored" : ""}`);
    const item = element("li");
    item.append(label);
    return item;
  }));
}

function ticked() {
  return [...document.querySelectorAll("#run-list input:checked")].map((box) => box.value);
}

function setLevers(scenario) {
  document.getElementById("description").textContent = scenario.description;
  const levers = scenario.levers;
  const values = {
    target_year: levers.target_year,
    grid_intensity: levers.grid_intensity,
    hev_improvement: levers.hev_improvement,
    collection_rate: levers.collection_rate,
    chemistry: levers.chemistry ? JSON.stringify(levers.chemistry, null, 1) : "",
    evs_slow: levers.evs_per_charger ? levers.evs_per_charger.slow : null,
    evs_fast: levers.evs_per_charger ? levers.evs_per_charger.fast : null,
  };
  const usable = {
    target_year: "target_year",
    grid_intensity: "grid_intensity",
    hev_improvement: "hev_improvement",
    collection_rate: "collection_rate",
    chemistry: "chemistry",
    evs_slow: "evs_per_charger",
    evs_fast: "evs_per_charger",
  };
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements[name];
    field.value = value === null || value === undefined ? "" : String(value);
    field.dataset.initial = field.value;
    field.disabled = !scenario.available.includes(usable[name]);
  }
}

function changed(name) {
  const field = form.elements[name];
  return !field.disabled && field.value.trim() !== "" && field.value !== field.dataset.initial;
}

function leversFromForm() {
  const levers = {};
  for (const name of NUMBER_LEVERS) {
    if (changed(name)) levers[name] = Number(form.elements[name].value);
  }
  if (changed("chemistry")) {
    try {
      levers.chemistry = JSON.parse(form.elements.chemistry.value);
    } catch (error) {
      throw Object.assign(new Error("chemistry: not valid JSON"), { problems: [error.message] });
    }
  }
  if (changed("evs_slow") || changed("evs_fast")) {
    levers.evs_per_charger = {};
    for (const [kind, name] of [["slow", "evs_slow"], ["fast", "evs_fast"]]) {
      if (form.elements[name].value.trim() !== "") {
        levers.evs_per_charger[kind] = Number(form.elements[name].value);
      }
    }
  }
  return levers;
}

function percent(value) {
  return value === null ? "–" : `${(100 * value).toFixed(1)}%`;
}

async function showSummaries(runIds) {
  const summaries = await Promise.all(runIds.map((id) => api(`/api/runs/${encodeURIComponent(id)}`)));
  const table = element("table");
  const head = element("tr");
  for (const title of ["run", "region", "electrified sales in target year", "all electrified from", "per-car GHG cut (target)"]) {
    head.append(element("th", title));
  }
  table.append(head);
  for (const summary of summaries) {
    for (const verdict of summary.target) {
      const cut = summary.emissions_target.find((row) => row.region === verdict.region);
      const row = element("tr");
      row.append(
        element("td", `${summary.run.scenario} (${summary.run.created_at.slice(11, 19)})`),
        element("td", verdict.region),
        element("td", `${percent(verdict.electrified_share)} in ${verdict.target_year}`),
        element("td", verdict.first_year_all_electrified ?? "never"),
        element("td", cut ? `${percent(cut.reduction)} (${percent(cut.target_reduction)})` : "–"),
      );
      table.append(row);
    }
  }
  document.getElementById("summary").replaceChildren(table);
}

async function showRuns(runIds) {
  shown = runIds.slice(0, MAX_SHOWN);
  if (shown.length === 0) {
    say("Tick one or more runs, or run a scenario.");
    return;
  }
  const query = shown.map((id) => `run=${encodeURIComponent(id)}`).join("&");
  const comparison = await api(`/api/compare?${query}`);
  await showSummaries(shown);
  const charts = document.getElementById("charts");
  const blocks = comparison.figures.map((chart) => {
    let block = [...charts.children].find((node) => node.dataset.title === chart.title);
    if (!block) {
      block = element("div");
      block.className = "chart";
      block.dataset.title = chart.title;
      const plot = element("div");
      plot.className = "plot";
      block.append(plot, element("p"));
    }
    block.querySelector("p").textContent = chart.caption;
    return [block, chart.figure];
  });
  charts.replaceChildren(...blocks.map(([block]) => block));
  for (const [block, figure] of blocks) {
    await Plotly.react(block.querySelector(".plot"), figure.data, figure.layout, { responsive: true });
  }
  document.body.dataset.drawn = shown.join(",");
}

async function run(event) {
  event.preventDefault();
  const button = document.getElementById("run");
  button.disabled = true;
  try {
    const body = {
      scenario: form.elements.scenario.value,
      levers: leversFromForm(),
      store: form.elements.store.checked,
    };
    const headers = { "Content-Type": "application/json" };
    const token = form.elements.token.value;
    if (token) headers.Authorization = `Bearer ${token}`;
    say("Running…");
    const result = await api("/api/runs", { method: "POST", headers, body: JSON.stringify(body) });
    say(`Ran ${result.run.scenario} in ${result.seconds.toFixed(1)} s${result.run.stored ? ", stored" : ""}.`);
    await showRuns([result.run.run_id, ...ticked().filter((id) => id !== result.run.run_id)]);
    await loadRuns();
  } catch (error) {
    say(error.message, error.problems || [], true);
  } finally {
    button.disabled = false;
  }
}

async function start() {
  scenarios = await api("/api/scenarios");
  const select = form.elements.scenario;
  select.replaceChildren(...scenarios.map((scenario) => {
    const option = element("option", scenario.name);
    option.value = scenario.name;
    return option;
  }));
  select.addEventListener("change", () => setLevers(scenarios.find((s) => s.name === select.value)));
  select.value = scenarios.some((s) => s.name === FIRST_SCENARIO) ? FIRST_SCENARIO : scenarios[0].name;
  setLevers(scenarios.find((s) => s.name === select.value));
  form.addEventListener("submit", run);
  document.getElementById("show").addEventListener("click", () => {
    showRuns(ticked()).catch((error) => say(error.message, error.problems || [], true));
  });
  await loadRuns();
  say("Choose a scenario, change levers and press Run, or tick runs to compare.");
  document.body.dataset.ready = "true";
}

start().catch((error) => say(error.message, error.problems || [], true));
