// Polls the API through deployctl's proxy (/api/...) and redraws: the recent builds and deployments, the
// selected one (the URL's #buildId or #deploymentId, else the newest build): a build's replication and hosts
// rolled out per region, or a deployment's wave and hosts updated/failed/pending per region, its timeline
// (timeline.js) and the operator's actions on it, each confirmed first; the regions panel, the builds each
// region's hosts run, every host of each region on a grid (grid.js) and each region's real hosts. The
// deployments and regions are drawn when the API has them: a stack without them still shows its builds.
"use strict";

const POLL_MS = 1000;
const DEPLOYMENT_PREFIX = "deploy-";
let selected = decodeURIComponent(location.hash.slice(1)) || null;
// The service the lists show (the header's picker; the URL's ?service=): every service's builds and
// deployments when none is picked, the default service's regions.
let service = new URLSearchParams(location.search).get("service") || "";
const ofService = (path) => (service ? `${path}${path.includes("?") ? "&" : "?"}service=${encodeURIComponent(service)}` : path);

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
};
const state = (value) => el("span", { class: `state ${value}` }, value);
const count = (n) => n.toLocaleString("en-US");
const seconds = (value) => (value === null || value === undefined ? "-" : `${value.toFixed(2)} s`);
const percentOf = (part, whole) => (whole ? (100 * part) / whole : 0);
const isDeployment = (id) => Boolean(id) && id.startsWith(DEPLOYMENT_PREFIX);

let actionToken = null; // what the proxy asks of an action: this page's token, from /api/stack

async function api(path, method = "GET", body = undefined) {
  const request = { method, cache: "no-store" };
  if (method !== "GET") {
    request.headers = { "Content-Type": "application/json", "X-Deployctl-Action-Token": actionToken };
    request.body = JSON.stringify(body || {});
  }
  const response = await fetch(`/api${path}`, request);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message || `${path} answered ${response.status}`);
  return answer;
}

function selectable(item, id) {
  if (id === selected) item.classList.add("selected");
  item.addEventListener("click", () => { location.hash = id; });
  return item;
}

// One entry of the builds' or the deployments' list: its id, its state and a line about it; a click selects it.
function listItem(attribute, id, value, line) {
  const item = el(
    "li",
    { [attribute]: id },
    el("div", { class: "id" }, id),
    el("div", {}, state(value), " ", el("span", { class: "muted" }, line)),
  );
  return selectable(item, id);
}

function drawList(builds) {
  document.getElementById("build-list").replaceChildren(
    ...builds.map((build) => listItem("data-build-id", build.buildId, build.deploymentStatus,
      `${build.commit.slice(0, 12)} · ${count(build.hostsDeployed)}/${count(build.hostsTotal)} hosts`)),
  );
}

function drawDeploymentList(deployments) {
  document.getElementById("deployment-list").replaceChildren(
    ...deployments.map((deployment) => listItem("data-deployment-id", deployment.deploymentId, deployment.status,
      `${deployment.buildId} · ${deployment.trigger} · ${deployment.regions.join(", ")}`)),
  );
}

function showOnly(id) {
  document.getElementById("empty").hidden = true;
  for (const panel of ["detail", "deployment-detail"]) document.getElementById(panel).hidden = panel !== id;
}

// A build's or a deployment's history; `by`, where the API records who made a change (a build's submitter).
function drawHistory(selector, changes) {
  document.querySelector(`${selector} tbody`).replaceChildren(
    ...changes.map((change) => el("tr", {},
      el("td", {}, change.at), el("td", {}, state(change.status)), el("td", {}, change.reason || ""),
      el("td", { class: "id" }, change.by || ""))),
  );
}

// Who did what to a deployment and when (the API records each action's caller, its SigV4 principal).
function drawActionLog(view) {
  const entries = [
    ...(view.createdBy ? [{ action: "deploy", at: view.createdAt, by: view.createdBy }] : []),
    ...(view.actions || []),
  ];
  document.getElementById("dep-action-log").hidden = !entries.length;
  document.querySelector("#dep-action-log tbody").replaceChildren(...entries.map((entry) => el("tr", { "data-action": entry.action },
    el("td", {}, entry.at), el("td", {}, entry.action + (entry.wave ? ` wave ${entry.wave}` : "")),
    el("td", { class: "id" }, entry.by || "-"), el("td", {}, entry.reason || ""))));
}

// The two detail panels, by the ids of their elements: the panel (its data attribute named `key` holds the
// id shown), the id, the state, the line under them and the reason.
const BUILD_PANEL = { panel: "detail", key: "buildId", id: "build-id", state: "deployment-status", line: "commit", reason: "reason" };
const DEPLOYMENT_PANEL = { panel: "deployment-detail", key: "deploymentId", id: "dep-id", state: "dep-status", line: "dep-build", reason: "dep-reason" };

// Shows one detail panel, headed by what it shows: its id, its state, a line, and the reason (hidden when none).
function drawHeading(ids, id, value, line, why) {
  showOnly(ids.panel);
  document.getElementById(ids.panel).dataset[ids.key] = id;
  document.getElementById(ids.id).textContent = id;
  const status = document.getElementById(ids.state);
  status.textContent = value;
  status.className = `state ${value}`;
  document.getElementById(ids.line).textContent = line;
  const reason = document.getElementById(ids.reason);
  reason.hidden = !why;
  reason.textContent = why;
}

function drawBuild(view) {
  const why = view.failureReason || (view.lastError ? `retrying after: ${view.lastError}` : "");
  drawHeading(BUILD_PANEL, view.buildId, view.deploymentStatus, `commit ${view.commit} · build ${view.status}`, why);
  const deployed = view.regions.reduce((sum, r) => sum + r.hostsDeployed, 0);
  const total = view.regions.reduce((sum, r) => sum + r.hostsTotal, 0);
  document.getElementById("hosts").textContent = `${count(deployed)}/${count(total)} hosts in ${view.regions.length} regions`;
  document.getElementById("regions").replaceChildren(
    ...view.regions.map((region) => {
      const percent = percentOf(region.hostsDeployed, region.hostsTotal);
      return el(
        "div",
        { class: "region", "data-region": region.region },
        el("h3", {}, region.region),
        el("div", {}, "replication ", state(region.replication)),
        region.replicationError ? el("div", { class: "FAILED" }, region.replicationError) : "",
        el("div", { class: "bar", title: `${percent.toFixed(0)}% of hosts` }, el("div", { style: `width:${percent}%` })),
        el("div", { class: "hosts muted" }, `${count(region.hostsDeployed)}/${count(region.hostsTotal)} hosts run ${view.buildId.slice(-8)}`),
      );
    }),
  );
  drawHistory("#history", view.statusHistory);
}

// The regions in the order they deploy (the spec's region waves), then any other.
function orderedRegions(view) {
  const order = (view.spec.regionWaves || []).flat().filter((name) => name in view.regions);
  const rest = Object.keys(view.regions).filter((name) => !order.includes(name));
  return [...order, ...rest].map((name) => [name, view.regions[name]]);
}

function hostsBar(region) {
  const parts = [
    ["updated", region.hostsUpdated],
    ["failed", region.hostsFailed],
    ["pending", region.hostsPending],
  ];
  return el(
    "div",
    { class: "bar", title: parts.map(([name, n]) => `${count(n)} ${name}`).join(", ") },
    ...parts.map(([name, n]) => el("div", { class: name, style: `width:${percentOf(n, region.hostsTotal)}%` })),
  );
}

function drawDeployment(view) {
  const by = view.createdBy ? ` · by ${view.createdBy}` : "";
  drawHeading(DEPLOYMENT_PANEL, view.deploymentId, view.status, `build ${view.buildId} · trigger ${view.trigger}${by}`, view.reason || "");
  const regions = Object.values(view.regions);
  const sum = (field) => regions.reduce((total, region) => total + region[field], 0);
  document.getElementById("dep-hosts").textContent =
    `${count(sum("hostsUpdated"))}/${count(sum("hostsTotal"))} hosts updated, ${count(sum("hostsFailed"))} failed, in ${regions.length} regions`;
  document.getElementById("dep-time").textContent =
    `model time ${seconds(view.modelSeconds)} so far, predicted ${seconds(view.predictedSeconds)}`;
  const spec = view.spec;
  document.getElementById("dep-spec").textContent =
    `waves ${spec.waves.join(", ")} % · bake ${spec.bakeSeconds} s · max failures ${spec.maxFailurePercent} %` +
    (spec.regionWaves && spec.regionWaves.length ? ` · region waves ${spec.regionWaves.map((wave) => wave.join(", ")).join(" → ")}` : "") +
    (spec.simulate && spec.simulate.hostFailurePercent ? ` · simulated failures ${spec.simulate.hostFailurePercent} % (seed ${spec.simulate.seed})` : "");
  document.getElementById("dep-regions").replaceChildren(
    ...orderedRegions(view).map(([name, region]) => el(
      "div",
      { class: "rollout", "data-region": name },
      el("h3", {}, name),
      el("div", {}, state(region.status), " ", el("span", { class: "wave muted" }, `wave ${region.wave}/${region.waves}`)),
      hostsBar(region),
      el("div", { class: "hosts muted" },
         `${count(region.hostsUpdated)}/${count(region.hostsTotal)} updated · ${count(region.hostsFailed)} failed · ${count(region.hostsPending)} pending`),
      el("div", { class: "muted" }, `model ${seconds(region.modelSeconds)} · predicted ${seconds(region.predictedSeconds)}`),
      region.reason ? el("div", { class: "FAILED" }, region.reason) : "",
    )),
  );
  drawHistory("#dep-history", view.history);
  drawActionLog(view);
  drawActions(view);
  Timeline.draw(document.getElementById("timeline"), view);
}

// --- the operator's actions, each confirmed first ------------------------------------------------------------

// What each action does, in the words the confirmation asks with, and the statuses it applies to.
const ACTIVE = ["QUEUED", "IN_PROGRESS", "PAUSED"];
const DEPLOYMENT_ACTIONS = [
  { name: "pause", asks: "Pause {id} before its next wave?", appliesTo: ["QUEUED", "IN_PROGRESS"] },
  { name: "resume", asks: "Resume {id}?", appliesTo: ["PAUSED"] },
  { name: "promote", asks: "Promote {id}: skip the bakes left?", appliesTo: ACTIVE },
  { name: "abort", asks: "Abort {id}? Every region it changed goes back to its build before.", appliesTo: ACTIVE },
  { name: "rollback", asks: "Rollback {id}? Its regions go back to the build before, from the hosts' caches.", appliesTo: [...ACTIVE, "SUCCEEDED", "SUPERSEDED"] },
];

// Asks in the page's dialog; resolves to the reason typed (or "" without one) when confirmed, null when not.
function confirmed(question, withReason = false) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-question").textContent = question;
  const reason = document.getElementById("confirm-reason");
  reason.hidden = !withReason;
  reason.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes" ? reason.value.trim() : null), { once: true });
    dialog.showModal();
  });
}

async function perform(label, method, path, body) {
  const result = document.getElementById("action-result");
  result.hidden = false;
  result.className = "muted";
  result.textContent = `${label}…`;
  try {
    const answer = await api(path, method, body);
    result.textContent = `${label}: ${answer.status || answer.message || "done"}`;
  } catch (problem) {
    result.className = "FAILED";
    result.textContent = `${label} refused: ${problem.message}`;
  }
}

// The actions' buttons, and an approval's while a wave waits for one.
function drawActions(view) {
  const waiting = view.awaitingApproval;
  const approve = { name: "approve", asks: `Approve wave ${waiting} of {id}: let it start?`, appliesTo: ACTIVE };
  const offered = waiting ? [approve, ...DEPLOYMENT_ACTIONS] : DEPLOYMENT_ACTIONS;
  document.getElementById("dep-actions").replaceChildren(...offered.map((action) => {
    const label = action.name === "approve" ? `approve wave ${waiting}` : action.name;
    const button = el("button", { type: "button", "data-action": action.name }, label);
    button.disabled = !action.appliesTo.includes(view.status);
    button.addEventListener("click", async () => {
      if ((await confirmed(action.asks.replace("{id}", view.deploymentId))) === null) return;
      await perform(`${action.name} ${view.deploymentId}`, "POST", `/deployments/${encodeURIComponent(view.deploymentId)}/${action.name}`);
    });
    return button;
  }));
  document.getElementById("dep-freeze-note").hidden = !view.pausedByFreeze;
}

// A freeze refuses new deployments and pauses the running ones until it is lifted; it says why, so the
// dialog asks for the reason.
function setUpFreeze() {
  document.getElementById("freeze").addEventListener("click", async () => {
    const reason = await confirmed("Freeze deployments? New ones are refused and running ones pause until it is lifted. Why:", true);
    // (without a reason, the API's refusal says a freeze needs one)
    if (reason !== null) await perform("freeze", "POST", "/freeze", reason ? { reason } : {});
    freezeReadAt = 0;
  });
  document.getElementById("thaw").addEventListener("click", async () => {
    if ((await confirmed("Lift the freeze: let deployments start and go on again?")) !== null) await perform("lift the freeze", "DELETE", "/freeze");
    freezeReadAt = 0;
  });
}

// The freeze in force, if any (GET /freeze answers 404 when there is none).
const FREEZE_POLL_MS = 5000;
let freezeReadAt = 0;

async function refreshFreeze() {
  if (Date.now() - freezeReadAt < FREEZE_POLL_MS) return;
  freezeReadAt = Date.now();
  const banner = document.getElementById("frozen");
  const response = await fetch("/api/freeze", { cache: "no-store" });
  const freeze = response.ok ? await response.json() : null;
  banner.hidden = !freeze;
  if (freeze) {
    banner.textContent = `deployments frozen by ${freeze.frozenBy || "-"} at ${freeze.frozenAt}: ${freeze.reason}` +
      (freeze.until ? ` (until ${freeze.until})` : "") +
      (freeze.pausedDeployments.length ? ` · holding ${freeze.pausedDeployments.join(", ")} paused` : "");
  }
}

// --- every host of each region, on a grid ------------------------------------------------------------------

const GRID_POLL_MS = 2000;
let gridsReadAt = 0;
const grids = {}; // region -> { grid, drawn }: what each region's canvas shows, for a click to find its host

function gridCard(region) {
  let card = document.querySelector(`#grids .grid-region[data-region="${region}"]`);
  if (card) return card;
  const canvas = el("canvas", { "aria-label": `every host of ${region}` });
  canvas.addEventListener("click", (event) => showHost(region, event));
  card = el("div", { class: "grid-region", "data-region": region },
    el("h3", {}, region, " ", el("span", { class: "muted grid-count" })), canvas, el("div", { class: "legend" }));
  document.getElementById("grids").append(card);
  return card;
}

function drawGrid(region, grid, goalBuildId) {
  const card = gridCard(region);
  const canvas = card.querySelector("canvas");
  const width = Math.max(200, document.getElementById("grids").clientWidth - 4);
  const drawn = HostGrid.draw(canvas, grid, goalBuildId, width);
  grids[region] = { grid, drawn };
  canvas.dataset.hosts = drawn.hosts;
  card.querySelector(".grid-count").textContent =
    `${count(drawn.hosts)} hosts: ${count(grid.simulated.hostsTotal)} simulated, ${count(grid.real.length)} real`;
  card.querySelector(".legend").replaceChildren(...drawn.legend.map((entry) => el("span", { class: "legend-entry" },
    el("span", { class: "swatch", style: `background:rgb(${entry.rgb.join(",")})` }), `${count(entry.hosts)} ${entry.label}`)));
}

async function refreshGrids(regions) {
  if (Date.now() - gridsReadAt < GRID_POLL_MS) return;
  gridsReadAt = Date.now();
  const answers = await Promise.all(regions.map((region) => api(`/regions/${encodeURIComponent(region.region)}/grid`)));
  document.getElementById("grid-panel").hidden = false;
  answers.forEach((grid, index) => drawGrid(grid.region, grid, regions[index].goalBuildId));
}

// A click on a host: what it runs; a real host's last report and a failed hook's output, read for it.
async function showHost(region, event) {
  const { grid, drawn } = grids[region];
  const canvas = event.currentTarget;
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const found = HostGrid.hostAt(grid, drawn, event.offsetX * scale, event.offsetY * scale);
  const detail = document.getElementById("host-detail");
  if (!found) return;
  detail.hidden = false;
  if (found.simulated) {
    const host = found.simulated;
    detail.dataset.hostId = host.hostId;
    detail.replaceChildren(el("h3", {}, `${host.hostId} `, el("span", { class: "muted" }, "simulated")),
      el("div", {}, `runs ${host.currentBuildId || "nothing yet"}, caches ${host.previousBuildId || "nothing"}`),
      el("div", { class: host.change === "failed" ? "FAILED" : "muted" },
        host.change ? `the last deployment to change it: ${host.change}` : "no deployment has changed it"));
    return;
  }
  const host = await api(`/regions/${encodeURIComponent(region)}/hosts/${encodeURIComponent(found.real.hostId)}`);
  const failure = failureOf(host);
  detail.dataset.hostId = host.hostId;
  detail.replaceChildren(
    el("h3", {}, `${host.hostId} `, state(host.state), el("span", { class: "muted" }, ` group ${host.group} · ${host.address}:${host.appPort}`)),
    el("div", {}, `runs ${host.currentBuildId || "nothing yet"}, caches ${host.previousBuildId || "nothing"} · heartbeat ${host.heartbeatAt}`),
    el("div", { class: "last-report" }, `last report: ${lastReportText(host.lastReport)}${host.lastReport ? ` at ${host.lastReport.at}` : ""}`),
    failure ? el("div", { class: "FAILED" }, `failed: ${lastReportText(failure)} (${failure.deploymentId})`) : "",
    failure && failure.outputTail ? el("pre", { class: "hook-output" }, failure.outputTail) : "",
  );
}

// Each region's real hosts (the agents), a small table a region, read less often than the rest: a region's
// whole fleet is read for it. Regions without real hosts show none; their simulated hosts are in the regions panel.
const HOSTS_POLL_MS = 5000;
const HOSTS_PER_REGION_SHOWN = 50;
const OUTPUT_TAIL_CHARS = 60;
let hostsReadAt = 0;

function lastReportText(report) {
  if (!report) return "-";
  const hook = report.hook ? ` ${report.hook}${report.exitCode === null ? "" : ` exit ${report.exitCode}`}` : "";
  return `${report.status}${report.reason ? ` ${report.reason}` : ""}${hook}`;
}

// The end of a failed hook's output: its last line that says something.
function outputTail(report) {
  if (!report || report.status === "DEPLOYED" || !report.outputTail) return "";
  const lines = report.outputTail.split("\n").map((line) => line.trim()).filter(Boolean);
  const last = lines.length ? lines[lines.length - 1] : "";
  return last.length > OUTPUT_TAIL_CHARS ? `…${last.slice(-(OUTPUT_TAIL_CHARS - 1))}` : last;
}

// What failed on the host in its last deployment: its last report if FAILED, else the failure kept from that
// deployment (a host that failed, then reported its return in the rollback).
function failureOf(host) {
  const report = host.lastReport;
  const failure = host.lastFailure;
  if (report && report.status !== "DEPLOYED") return report;
  return report && failure && failure.deploymentId === report.deploymentId ? failure : null;
}

function hostsTable(region, answer) {
  const shown = `${count(answer.hosts.length)}${answer.nextCursor ? "+" : ""}`;
  return el(
    "div",
    { class: "region-hosts", "data-region": region },
    el("h3", {}, `${region} `, el("span", { class: "muted" }, `${shown} real hosts · lost after ${answer.lostAfterSeconds} s silent`)),
    el("table", {},
      el("thead", {}, el("tr", {}, ...["host", "group", "state", "current", "last report", "hook output"].map((name) => el("th", {}, name)))),
      el("tbody", {}, ...answer.hosts.map((host) => el(
        "tr",
        { "data-host-id": host.hostId },
        el("td", { class: "id" }, host.hostId),
        el("td", {}, host.group),
        el("td", {}, state(host.state)),
        el("td", { class: "id" }, host.currentBuildId || "-"),
        el("td", {}, lastReportText(host.lastReport)),
        el("td", { class: "muted" }, outputTail(failureOf(host))),
      )))),
  );
}

async function refreshHosts(regions) {
  if (Date.now() - hostsReadAt < HOSTS_POLL_MS) return;
  hostsReadAt = Date.now();
  const note = document.getElementById("real-hosts-note");
  try {
    const answers = await Promise.all(regions.map((region) =>
      api(ofService(`/regions/${encodeURIComponent(region.region)}/hosts?limit=${HOSTS_PER_REGION_SHOWN}`))));
    const withHosts = answers.filter((answer) => answer.hosts.length);
    document.getElementById("real-hosts-panel").hidden = !withHosts.length;
    document.getElementById("real-hosts").replaceChildren(...withHosts.map((answer) => hostsTable(answer.region, answer)));
    note.hidden = true;
  } catch (problem) {
    document.getElementById("real-hosts-panel").hidden = false;
    note.hidden = false;
    note.textContent = `no real hosts to show: ${problem.message}`;
  }
}

// A build's colour in the regions panel: the goal build green, each other one a colour of its own (never green).
const OTHER_BUILD_COLOURS = ["#8250df", "#0969da", "#bf8700", "#bc4c00", "#1b7c83"]; // no grey: grey is a lost host
function buildColour(buildId, goalBuildId) {
  if (buildId === goalBuildId) return "var(--ok)";
  let hash = 0;
  for (const character of buildId) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return OTHER_BUILD_COLOURS[hash % OTHER_BUILD_COLOURS.length];
}

function drawFleet(regions) {
  document.getElementById("fleet-panel").hidden = false;
  document.getElementById("fleet").replaceChildren(
    ...regions.map((region) => {
      const builds = Object.entries(region.hostsByBuild).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
      return el(
        "div",
        { class: "fleet", "data-region": region.region },
        el("h3", {}, region.region),
        el("div", { class: "muted" }, `goal ${region.goalBuildId || "none"}`),
        region.hostsLost ? el("div", { class: "lost" }, `${count(region.hostsLost)} real hosts lost`) : "",
        el("div", { class: "bar" }, ...builds.map(([buildId, n]) => el("div", {
          title: `${count(n)} hosts run ${buildId}`,
          style: `width:${percentOf(n, region.hostsTotal)}%;background:${buildColour(buildId, region.goalBuildId)}`,
        }))),
        el("div", { class: "builds-on-hosts" }, ...builds.map(([buildId, n]) => el(
          "div",
          { "data-build-id": buildId },
          el("span", { class: "swatch", style: `background:${buildColour(buildId, region.goalBuildId)}` }),
          `${count(n)} ${buildId}`,
        ))),
      );
    }),
  );
}

// The deployments and regions of a stack that has them; a note, not an error, when it does not.
async function refreshDeployments() {
  const note = document.getElementById("deployments-note");
  try {
    const [page, regions] = await Promise.all([api(ofService("/deployments?limit=20")), api(ofService("/regions"))]);
    drawDeploymentList(page.deployments);
    drawFleet(regions.regions);
    note.hidden = true;
    await Promise.all([refreshHosts(regions.regions), refreshGrids(regions.regions)]);
  } catch (problem) {
    note.hidden = false;
    note.textContent = `no deployments to show: ${problem.message}`;
  }
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const [page] = await Promise.all([api(ofService("/builds?limit=20")), refreshDeployments(), refreshFreeze()]);
    if (!selected && page.builds.length) selected = page.builds[0].buildId;
    drawList(page.builds);
    if (isDeployment(selected)) drawDeployment(await api(`/deployments/${encodeURIComponent(selected)}`));
    else if (selected) drawBuild(await api(`/builds/${encodeURIComponent(selected)}`));
    error.hidden = true;
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (problem) {
    error.hidden = false;
    error.textContent = problem.message;
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

window.addEventListener("hashchange", () => {
  selected = decodeURIComponent(location.hash.slice(1)) || null;
  document.querySelectorAll("#build-list li, #deployment-list li").forEach((li) =>
    li.classList.toggle("selected", (li.dataset.buildId || li.dataset.deploymentId) === selected));
});

api("/stack").then((stack) => {
  actionToken = stack.actionToken;
  document.getElementById("where").textContent = `stack ${stack.stack} on ${stack.where}`;
});
// The services, in the header's picker: choosing one shows its builds, deployments and regions alone.
api("/services").then((answer) => {
  const picker = document.getElementById("service");
  picker.replaceChildren(el("option", { value: "" }, "every service"),
    ...answer.services.map((one) => el("option", { value: one.name }, one.name)));
  picker.value = service;
  picker.addEventListener("change", () => {
    service = picker.value;
    hostsReadAt = 0;
    history.replaceState(null, "", `${location.pathname}${service ? `?service=${encodeURIComponent(service)}` : ""}${location.hash}`);
  });
}).catch(() => { document.getElementById("service").hidden = true; });
setUpFreeze();
refresh();
