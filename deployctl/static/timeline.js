// A deployment's timeline: for each region, the plan (each wave's predicted time, then its bake) above what
// happened (each wave from its start to its gate, the bakes, the rollback), on one time axis from the
// deployment's creation; the deployment's pauses across every region. From GET /deployments/{id} alone: each
// region's waveTimes, the spec's bakeSeconds and region waves, and the history's PAUSED spells.
"use strict";

const Timeline = (() => {
  const seconds = (from, to) => Math.max(0, (to - from) / 1000);
  const at = (iso) => (iso ? Date.parse(iso) : null);

  // Each PAUSED spell of the deployment: [start, end) in ms, its end the next change (or `now`).
  function pauses(history, now) {
    return history.flatMap((change, index) => {
      if (change.status !== "PAUSED") return [];
      const next = history[index + 1];
      return [[at(change.at), next ? at(next.at) : now]];
    });
  }

  // Where the plan puts each region's start, in seconds: after the region waves before it (each as long as
  // its slowest region's plan).
  function plannedStarts(view) {
    const starts = {};
    let start = 0;
    for (const regionWave of view.spec.regionWaves) {
      const present = regionWave.filter((name) => name in view.regions);
      for (const name of present) starts[name] = start;
      start += Math.max(0, ...present.map((name) => view.regions[name].predictedSeconds));
    }
    for (const name of Object.keys(view.regions)) if (!(name in starts)) starts[name] = 0;
    return starts;
  }

  // The plan's segments of a region: [kind, wave, from, to] in seconds since the deployment's creation.
  function planned(region, start, bake) {
    const segments = [];
    let t = start;
    region.waveTimes.forEach((wave, index) => {
      const predicted = wave.predictedSeconds || 0;
      segments.push(["wave", wave.wave, t, t + predicted]);
      t += predicted;
      if (bake > 0 && index < region.waveTimes.length - 1) {
        segments.push(["bake", wave.wave, t, t + bake]);
        t += bake;
      }
    });
    return segments;
  }

  // What happened in a region: its waves, the bakes after them, and its rollback.
  function actual(region, bake, origin, now) {
    const segments = [];
    const ended = at(region.completedAt);
    // The wave whose gate its failures failed: the last one begun in a region rolled back, if hosts failed in it
    // (an operator's rollback or abort fails no wave).
    const lastBegun = region.waveTimes.filter((wave) => wave.startedAt).length;
    const stoppedAt = region.rollbackStartedAt && lastBegun && region.waveTimes[lastBegun - 1].hostsFailed ? lastBegun : 0;
    region.waveTimes.forEach((wave, index) => {
      if (!wave.startedAt) return;
      const start = at(wave.startedAt);
      const end = at(wave.endedAt);
      const kind = wave.wave === stoppedAt ? "wave failed" : "wave";
      segments.push([kind, wave.wave, seconds(origin, start), seconds(origin, end || now), end !== null]);
      const next = region.waveTimes[index + 1];
      if (end !== null && bake > 0 && next && !(region.rollbackStartedAt && at(region.rollbackStartedAt) <= end)) {
        const bakeEnd = next.startedAt ? at(next.startedAt) : ended || now;
        segments.push(["bake", wave.wave, seconds(origin, end), seconds(origin, bakeEnd), Boolean(next.startedAt || ended)]);
      }
    });
    if (region.rollbackStartedAt) {
      segments.push(["rollback", 0, seconds(origin, at(region.rollbackStartedAt)), seconds(origin, ended || now), ended !== null]);
    }
    return segments;
  }

  function segment(kind, wave, from, to, total, done, title) {
    const node = document.createElement("div");
    node.className = `segment ${kind}`;
    node.style.left = `${(100 * from) / total}%`;
    node.style.width = `${Math.max(0.3, (100 * (to - from)) / total)}%`;
    node.title = title;
    if (wave) node.dataset.wave = wave;
    node.dataset.done = done ? "yes" : "no";
    return node;
  }

  function lane(name, segments, total, pausedSpells, describe) {
    const node = document.createElement("div");
    node.className = `lane ${name}`;
    for (const [from, to] of pausedSpells) node.append(segment("pause", 0, from, to, total, true, `paused ${(to - from).toFixed(1)} s`));
    for (const [kind, wave, from, to, done] of segments) node.append(segment(kind, wave, from, to, total, name === "plan" || done, describe(kind, wave, from, to)));
    return node;
  }

  // Redraws the deployment's timeline into `container`.
  function draw(container, view) {
    const origin = at(view.createdAt);
    const now = at(view.completedAt) || Date.now();
    const bake = view.spec.bakeSeconds;
    const starts = plannedStarts(view);
    const names = Object.keys(starts).sort((a, b) => starts[a] - starts[b] || a.localeCompare(b));
    const plans = Object.fromEntries(names.map((name) => [name, planned(view.regions[name], starts[name], bake)]));
    const actuals = Object.fromEntries(names.map((name) => [name, actual(view.regions[name], bake, origin, now)]));
    const pausedSpells = pauses(view.history, now).map(([from, to]) => [seconds(origin, from), seconds(origin, to)]);
    const ends = [seconds(origin, now), ...names.flatMap((name) => [...plans[name], ...actuals[name]].map((s) => s[3]))];
    const total = Math.max(1, ...ends);
    const rows = names.map((name) => {
      const region = view.regions[name];
      const row = document.createElement("div");
      row.className = "timeline-region";
      row.dataset.region = name;
      const label = document.createElement("div");
      label.className = "timeline-label";
      label.textContent = name;
      const describe = (kind, wave, from, to) => {
        const times = wave ? region.waveTimes[wave - 1] : null;
        const model = times && times.modelSeconds !== null ? `, model ${times.modelSeconds.toFixed(2)} s` : "";
        const failed = times && times.hostsFailed ? `, ${times.hostsFailed} hosts failed` : "";
        return `${kind}${wave ? ` ${wave}` : ""}: ${(to - from).toFixed(1)} s (${from.toFixed(1)}–${to.toFixed(1)} s)${model}${failed}`;
      };
      row.append(label, lane("plan", plans[name], total, [], describe), lane("actual", actuals[name], total, pausedSpells, describe));
      return row;
    });
    const axis = document.createElement("div");
    axis.className = "timeline-axis muted";
    axis.textContent = `0 s → ${total.toFixed(1)} s since ${view.createdAt} · upper lane: the plan, lower: what happened`;
    container.replaceChildren(...rows, axis);
    container.dataset.status = view.status;
    container.dataset.seconds = total.toFixed(1);
  }

  return { draw, pauses };
})();
