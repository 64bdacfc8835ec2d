// Polls the builds API through deployctl's proxy (/api/...) and redraws: the recent builds, and for the
// selected one (the URL's #buildId, else the newest) each region's replication and hosts rolled out.
"use strict";

const POLL_MS = 1000;
let selected = decodeURIComponent(location.hash.slice(1)) || null;

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
};
const state = (value) => el("span", { class: `state ${value}` }, value);
const count = (n) => n.toLocaleString("en-US");

async function api(path) {
  const response = await fetch(`/api${path}`, { cache: "no-store" });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message || `${path} answered ${response.status}`);
  return answer;
}

function drawList(builds) {
  const list = document.getElementById("build-list");
  list.replaceChildren(
    ...builds.map((build) => {
      const item = el(
        "li",
        { "data-build-id": build.buildId, class: build.buildId === selected ? "selected" : "" },
        el("div", { class: "id" }, build.buildId),
        el("div", {}, state(build.deploymentStatus), " ",
           el("span", { class: "muted" }, `${build.commit.slice(0, 12)} · ${count(build.hostsDeployed)}/${count(build.hostsTotal)} hosts`)),
      );
      item.addEventListener("click", () => { location.hash = build.buildId; });
      return item;
    }),
  );
}

function drawBuild(view) {
  document.getElementById("empty").hidden = true;
  const detail = document.getElementById("detail");
  detail.hidden = false;
  detail.dataset.buildId = view.buildId;
  document.getElementById("build-id").textContent = view.buildId;
  const status = document.getElementById("deployment-status");
  status.textContent = view.deploymentStatus;
  status.className = `state ${view.deploymentStatus}`;
  document.getElementById("commit").textContent = `commit ${view.commit} · build ${view.status}`;
  const reason = document.getElementById("reason");
  const why = view.failureReason || (view.lastError ? `retrying after: ${view.lastError}` : "");
  reason.hidden = !why;
  reason.textContent = why;
  const deployed = view.regions.reduce((sum, r) => sum + r.hostsDeployed, 0);
  const total = view.regions.reduce((sum, r) => sum + r.hostsTotal, 0);
  document.getElementById("hosts").textContent = `${count(deployed)}/${count(total)} hosts in ${view.regions.length} regions`;
  document.getElementById("regions").replaceChildren(
    ...view.regions.map((region) => {
      const percent = region.hostsTotal ? (100 * region.hostsDeployed) / region.hostsTotal : 0;
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
  document.querySelector("#history tbody").replaceChildren(
    ...view.statusHistory.map((change) =>
      el("tr", {}, el("td", {}, change.at), el("td", {}, state(change.status)), el("td", {}, change.reason || ""))),
  );
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const page = await api("/builds?limit=20");
    if (!selected && page.builds.length) selected = page.builds[0].buildId;
    drawList(page.builds);
    if (selected) drawBuild(await api(`/builds/${encodeURIComponent(selected)}`));
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
  document.querySelectorAll("#build-list li").forEach((li) => li.classList.toggle("selected", li.dataset.buildId === selected));
});

api("/stack").then((stack) => { document.getElementById("where").textContent = `stack ${stack.stack} on ${stack.where}`; });
refresh();
