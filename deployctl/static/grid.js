// The host grid: every host of a region on one canvas, a cell a host, coloured by the build it runs and its
// state, from GET /regions/{region}/grid (the simulated hosts in runs of hosts alike, the real ones a row each).
// The real hosts come first, then the simulated ones in host order. The cells are written into an ImageData
// pixel by pixel, so 100,000 hosts draw in milliseconds (make bench: bench/host_grid.py measures it).
"use strict";

const HostGrid = (() => {
  const MAX_CELL_PX = 12;
  const MAX_HEIGHT_PX = 220;
  // Colours (RGB) of what a host's cell shows besides its build.
  const FAILED = [207, 34, 46];
  const NO_BUILD = [216, 222, 228];
  const LOST = [87, 96, 106];
  const BUSY = [212, 167, 44]; // a real host downloading or installing
  const GOAL = [26, 127, 55]; // the region's goal build
  // The regions panel's colours (dashboard.js), by the same hash; no grey: grey is a lost host.
  const OTHER_BUILDS = [[130, 80, 223], [9, 105, 218], [191, 135, 0], [188, 76, 0], [27, 124, 131]];

  function buildRgb(buildId, goalBuildId) {
    if (buildId === goalBuildId) return GOAL;
    let hash = 0;
    for (const character of buildId) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
    return OTHER_BUILDS[hash % OTHER_BUILDS.length];
  }

  // What a host's cell says: a key (for the legend's counts), a label and a colour.
  function look(buildId, state, goalBuildId) {
    if (state === "failed") return { key: "failed", label: "failed its update", rgb: FAILED };
    if (state === "lost") return { key: "lost", label: "lost (silent)", rgb: LOST };
    if (state === "downloading" || state === "installing") return { key: "busy", label: "downloading or installing", rgb: BUSY };
    if (buildId === null) return { key: "none", label: "no build yet", rgb: NO_BUILD };
    return { key: `build:${buildId}`, label: buildId, rgb: buildRgb(buildId, goalBuildId) };
  }

  const simulatedState = (change) => (change === "failed" ? "failed" : "deployed");
  const buildOf = (grid, place) => (place === null || place === undefined ? null : grid.builds[place]);

  // The largest cell (up to MAX_CELL_PX) with which every host fits `width` pixels wide and MAX_HEIGHT_PX high;
  // 1 pixel a host when even that does not fit (the canvas grows taller).
  function layout(hosts, width) {
    let size = MAX_CELL_PX;
    while (size > 1 && Math.ceil(hosts / Math.floor(width / size)) * size > MAX_HEIGHT_PX) size -= 1;
    const columns = Math.max(1, Math.floor(width / size));
    return { size, columns, rows: Math.max(1, Math.ceil(hosts / columns)) };
  }

  // Draws the region's grid into `canvas`, `width` CSS pixels wide. Returns what was drawn: the hosts, the cell
  // layout, and the legend (each look's label, colour and hosts).
  function draw(canvas, grid, goalBuildId, width) {
    const real = grid.real.length;
    const hosts = real + grid.simulated.hostsTotal;
    const { size, columns, rows } = layout(hosts, width);
    canvas.width = columns * size;
    canvas.height = rows * size;
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    const pixels = new Uint32Array(image.data.buffer);
    const fill = size >= 4 ? size - 1 : size; // a pixel's gap between cells large enough to show one
    const legend = new Map();
    const packed = new Map();
    const colour = (found) => {
      const counted = legend.get(found.key) || { label: found.label, rgb: found.rgb, hosts: 0 };
      legend.set(found.key, counted);
      if (!packed.has(found.key)) {
        const [r, g, b] = found.rgb;
        packed.set(found.key, ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0);
      }
      return [counted, packed.get(found.key)];
    };
    const paint = (first, count, value) => {
      for (let host = first; host < first + count; host += 1) {
        const x0 = (host % columns) * size;
        const y0 = Math.floor(host / columns) * size;
        for (let y = y0; y < y0 + fill; y += 1) pixels.fill(value, y * canvas.width + x0, y * canvas.width + x0 + fill);
      }
    };
    grid.real.forEach((row, index) => {
      const [counted, value] = colour(look(buildOf(grid, row.build), row.state, goalBuildId));
      counted.hosts += 1;
      paint(index, 1, value);
    });
    let next = real;
    for (const [count, current, , change] of grid.simulated.runs) {
      const [counted, value] = colour(look(buildOf(grid, current), simulatedState(change), goalBuildId));
      counted.hosts += count;
      paint(next, count, value);
      next += count;
    }
    context.putImageData(image, 0, 0);
    canvas.style.width = `${canvas.width}px`;
    return { hosts, size, columns, legend: [...legend.values()].sort((a, b) => b.hosts - a.hosts) };
  }

  // The host under canvas pixel (x, y): a real host's row, or a simulated host's run, with its place; null
  // past the last host.
  function hostAt(grid, drawn, x, y) {
    const host = Math.floor(y / drawn.size) * drawn.columns + Math.floor(x / drawn.size);
    if (x >= drawn.columns * drawn.size || host < 0 || host >= drawn.hosts) return null;
    if (host < grid.real.length) return { real: grid.real[host], place: host };
    let first = grid.real.length;
    for (const [count, current, previous, change] of grid.simulated.runs) {
      if (host < first + count) {
        const index = host - grid.real.length;
        return {
          simulated: {
            hostId: `${grid.region}-host-${String(index).padStart(6, "0")}`,
            currentBuildId: buildOf(grid, current),
            previousBuildId: buildOf(grid, previous),
            change,
          },
          place: host,
        };
      }
      first += count;
    }
    return null;
  }

  return { draw, hostAt, layout };
})();
