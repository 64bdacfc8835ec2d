// Polls the API through deployctl's proxy (/api/...) and redraws: the recent builds and deployments, the
// selected one (the URL's #buildId or #deploymentId, else the newest build): a build's replication and hosts
// rolled out per region, or a deployment's wave and hosts updated/failed/pending per region; and the regions
// panel, the builds each region's hosts run, and each region's real hosts. The deployments and regions are drawn when the API has them:
// a stack without them still shows its builds.
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

async function api(path) {
  const response = await fetch(`/api${path}`, { cache: "no-store" });
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

function drawHistory(selector, changes) {
  document.querySelector(`${selector} tbody`).replaceChildren(
    ...changes.map((change) =>
      el("tr", {}, el("td", {}, change.at), el("td", {}, state(change.status)), el("td", {}, change.reason || ""))),
  );
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
  drawHeading(DEPLOYMENT_PANEL, view.deploymentId, view.status, `build ${view.buildId} · trigger ${view.trigger}`, view.reason || "");
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
const OTHER_BUILD_COLOURS = ["#8250df", "#0969da", "#bf8700", "#bc4c00", "#6e7781", "#1b7c83"];
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
    await refreshHosts(regions.regions);
  } catch (problem) {
    note.hidden = false;
    note.textContent = `no deployments to show: ${problem.message}`;
  }
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const [page] = await Promise.all([api(ofService("/builds?limit=20")), refreshDeployments()]);
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

api("/stack").then((stack) => { document.getElementById("where").textContent = `stack ${stack.stack} on ${stack.where}`; });
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
refresh();
