/* Setu network explorer: draws map.json as SVG (one circle per node, edges in a few paths); pan, zoom,
   filters, colours, search and a side panel. Events are delegated, so the map has no per-node listener. */
"use strict";

(() => {
  const root = document.getElementById("explorer");
  if (!root) return;

  const SVG_NS = "http://www.w3.org/2000/svg";
  const byId = (id) => document.getElementById(id);
  const frame = byId("map-frame");
  const view = byId("map-view");
  const nodeLayer = byId("map-nodes");
  const edgesFaint = byId("map-edges");
  const edgesStrong = byId("map-edges-strong");
  const edgesSelected = byId("map-edges-selected");
  const ring = byId("map-ring");
  const tip = byId("map-tip");
  const statusLine = byId("map-status");
  const legend = byId("map-legend");
  const panel = byId("map-panel");
  const panelBody = byId("map-panel-body");
  const search = byId("map-search");
  const results = byId("map-results");
  const colourBy = byId("colour-by");
  const filterMode = byId("filter-mode");
  const filterSelects = Array.from(document.querySelectorAll("select[data-filter]"));

  // Okabe-Ito colours (distinguishable with colour-blindness); every circle has a dark outline.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#8C564B"];
  const OTHER = "#BDBDBD";
  const NO_RESULT = "#FFFFFF";
  const RISK = [
    { upTo: 0, colour: "#1A9850", label: "No loss (REI 0)" },
    { upTo: 0.25, colour: "#FEE08B", label: "REI up to 0.25" },
    { upTo: 0.5, colour: "#FC8D59", label: "REI up to 0.5" },
    { upTo: Infinity, colour: "#D73027", label: "REI above 0.5" },
  ];
  const MARGIN = 30;
  const MIN_ZOOM = 0.01;
  const MAX_ZOOM = 40;
  const PAN_STEP = 60;
  const SEARCH_LIMIT = 12;

  let data = null;
  let px = null; // world x of each node
  let py = null;
  let radius = 5;
  let circles = [];
  let indexOf = new Map();
  let shown = null; // 1 where the node matches the filters
  let countryColour = new Map();
  const view_ = { k: 1, tx: 0, ty: 0 };
  const world = { width: 900, height: 560 };
  let frameScheduled = false;
  let selected = -1;
  let dependents = [];
  let activeResult = -1;
  let panelRequest = 0;
  let customersOf = null;

  // --- view transform (written once per animation frame, never read back from the DOM) -----------

  function schedule() {
    if (frameScheduled) return;
    frameScheduled = true;
    requestAnimationFrame(() => {
      frameScheduled = false;
      view.setAttribute("transform", `translate(${view_.tx} ${view_.ty}) scale(${view_.k})`);
    });
  }

  function frameSize() {
    return { width: frame.clientWidth, height: frame.clientHeight };
  }

  function zoomAt(factor, sx, sy) {
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view_.k * factor));
    view_.tx = sx - (sx - view_.tx) * (k / view_.k);
    view_.ty = sy - (sy - view_.ty) * (k / view_.k);
    view_.k = k;
    schedule();
  }

  function zoomCentre(factor) {
    const size = frameSize();
    zoomAt(factor, size.width / 2, size.height / 2);
  }

  function fit() {
    if (!data) return;
    const size = frameSize();
    const { width, height } = world;
    view_.k = Math.max(MIN_ZOOM, Math.min(size.width / width, size.height / height));
    view_.tx = (size.width - width * view_.k) / 2;
    view_.ty = (size.height - height * view_.k) / 2;
    schedule();
  }

  function centreOn(i) {
    const size = frameSize();
    view_.k = Math.max(view_.k, 1);
    view_.tx = size.width / 2 - px[i] * view_.k;
    view_.ty = size.height / 2 - py[i] * view_.k;
    schedule();
  }

  function worldWidth() {
    // A tall map (hundreds of rows) is widened towards the frame's shape, so a fitted view is not a thin strip.
    const size = frameSize();
    const aspect = size.height > 0 ? size.width / size.height : 1.5;
    return Math.max(900, data.columns * 240, worldHeight() * aspect * 0.5);
  }

  function worldHeight() {
    return Math.max(560, data.rows * 14);
  }

  // --- drawing ---------------------------------------------------------------------------------------

  function build() {
    const n = data.nodes.length;
    world.width = worldWidth();
    world.height = worldHeight();
    const width = world.width;
    const height = world.height;
    px = new Float64Array(n);
    py = new Float64Array(n);
    const rowGap = (height - 2 * MARGIN) / Math.max(1, data.rows);
    radius = Math.max(1.5, Math.min(6, rowGap * 0.4));
    const fragment = document.createDocumentFragment();
    circles = new Array(n);
    indexOf = new Map();
    for (let i = 0; i < n; i += 1) {
      const node = data.nodes[i];
      px[i] = MARGIN + node.x * (width - 2 * MARGIN);
      py[i] = MARGIN + node.y * (height - 2 * MARGIN);
      const circle = document.createElementNS(SVG_NS, "circle");
      circle.setAttribute("cx", px[i].toFixed(1));
      circle.setAttribute("cy", py[i].toFixed(1));
      circle.setAttribute("r", node.product ? radius * 1.4 : radius);
      circle.setAttribute("data-i", String(i));
      circle.setAttribute("data-id", node.id);
      circles[i] = circle;
      indexOf.set(node.id, i);
      fragment.appendChild(circle);
    }
    nodeLayer.replaceChildren(fragment);
    customersOf = Array.from({ length: n }, () => []);
    for (const [s, c] of data.edges) customersOf[s].push(c);
    const counts = new Map();
    for (const node of data.nodes) counts.set(node.country, (counts.get(node.country) || 0) + 1);
    const countries = Array.from(counts.keys()).filter((c) => c !== "");
    countries.sort((a, b) => counts.get(b) - counts.get(a) || (a < b ? -1 : 1));
    countryColour = new Map(countries.slice(0, PALETTE.length).map((c, i) => [c, PALETTE[i]]));
    shown = new Uint8Array(n).fill(1);
  }

  function edgePath(keep) {
    const parts = [];
    for (const [s, c] of data.edges) {
      if (keep(s, c)) parts.push(`M${px[s].toFixed(1)} ${py[s].toFixed(1)}L${px[c].toFixed(1)} ${py[c].toFixed(1)}`);
    }
    return parts.join("");
  }

  function riskColour(node) {
    if (!node.risk) return NO_RESULT;
    return RISK.find((band) => node.risk.rei <= band.upTo).colour;
  }

  function colour() {
    const byRisk = colourBy.value === "risk";
    for (let i = 0; i < circles.length; i += 1) {
      const node = data.nodes[i];
      circles[i].setAttribute("fill", byRisk ? riskColour(node) : countryColour.get(node.country) || OTHER);
    }
    drawLegend(byRisk);
  }

  function swatch(fill, text) {
    const item = document.createElement("span");
    const dot = document.createElement("span");
    dot.className = "swatch";
    dot.style.background = fill;
    item.append(dot, document.createTextNode(text));
    return item;
  }

  function drawLegend(byRisk) {
    const items = [];
    const title = document.createElement("strong");
    if (byRisk) {
      title.textContent = "Risk:";
      items.push(title);
      if (!data.run) {
        items.push(swatch(NO_RESULT, `${data.risk_note} (the dashboard runs the reference sweep that colours the map)`));
      } else {
        for (const band of RISK) items.push(swatch(band.colour, band.label));
        items.push(swatch(NO_RESULT, "No single-node result"));
      }
    } else {
      title.textContent = "Country:";
      items.push(title);
      for (const [country, fill] of countryColour) items.push(swatch(fill, country));
      const other = data.nodes.some((node) => !countryColour.has(node.country));
      if (other) items.push(swatch(OTHER, "Other or none"));
    }
    items.push(document.createTextNode("Larger circles are finished products."));
    legend.replaceChildren(...items);
  }

  // --- filters -----------------------------------------------------------------------------------------

  function applyFilters() {
    const wanted = filterSelects.map((select) => [select.dataset.filter, select.value]).filter(([, v]) => v !== "");
    const hide = filterMode.value === "hide";
    let count = 0;
    for (let i = 0; i < circles.length; i += 1) {
      const node = data.nodes[i];
      const match = wanted.every(([field, value]) => node[field] === value) ? 1 : 0;
      count += match;
      if (match !== shown[i] || circles[i].classList.contains("off") !== (hide && !match)) {
        circles[i].classList.toggle("dim", !match && !hide);
        circles[i].classList.toggle("off", !match && hide);
      }
      shown[i] = match;
    }
    if (wanted.length === 0) {
      edgesFaint.setAttribute("d", edgePath(() => true));
      edgesStrong.setAttribute("d", "");
    } else {
      edgesStrong.setAttribute("d", edgePath((s, c) => shown[s] && shown[c]));
      edgesFaint.setAttribute("d", hide ? "" : edgePath((s, c) => !(shown[s] && shown[c])));
    }
    if (selected >= 0 && hide && !shown[selected]) closePanel(false);
    const total = data.nodes.length;
    // Over the map's node limit the answer holds part of the network: say so rather than "all".
    const whole = data.note
      ? `${data.note.charAt(0).toUpperCase()}${data.note.slice(1)}; ${data.edges.length} supply edges between them.`
      : `Showing all ${total} nodes and ${data.edges.length} supply edges.`;
    statusLine.textContent =
      wanted.length === 0
        ? whole
        : `${count} of ${total} nodes on the map match the filters${hide ? "; the others are hidden" : "; the others are dimmed"}.`;
  }

  // --- selection and side panel ------------------------------------------------------------------------

  function markDependents(i) {
    for (const d of dependents) circles[d].classList.remove("dependent");
    dependents = [];
    if (i < 0) return;
    const seen = new Uint8Array(circles.length);
    const queue = [i];
    seen[i] = 1;
    while (queue.length) {
      const at = queue.pop();
      for (const next of customersOf[at]) {
        if (!seen[next]) {
          seen[next] = 1;
          dependents.push(next);
          queue.push(next);
        }
      }
    }
    for (const d of dependents) circles[d].classList.add("dependent");
  }

  function select(i, options = {}) {
    selected = i;
    const node = data.nodes[i];
    ring.setAttribute("cx", px[i].toFixed(1));
    ring.setAttribute("cy", py[i].toFixed(1));
    ring.setAttribute("r", String(radius * 2));
    ring.setAttribute("display", "inline");
    edgesSelected.setAttribute("d", edgePath((s, c) => s === i || c === i));
    markDependents(i);
    if (options.centre) centreOn(i);
    openPanel(node, options.focus);
  }

  function openPanel(node, focus) {
    const request = ++panelRequest;
    panel.hidden = false;
    panelBody.replaceChildren(document.createTextNode(`Loading ${node.id}…`));
    const risk = document.createElement("p");
    if (node.risk) {
      risk.textContent = `Risk if it stops alone: PI ${node.risk.pi.toFixed(2)}, REI ${node.risk.rei.toFixed(3)} (run ${data.run.id}).`;
    } else {
      risk.textContent = data.run ? "No single-node result for it in your reference sweep." : `Risk: ${data.risk_note}.`;
    }
    fetch(root.dataset.panel + encodeURIComponent(node.id), { headers: { Accept: "text/html" } })
      .then((answer) => answer.text())
      .then((html) => {
        if (request !== panelRequest) return;
        // The fragment is rendered by the server with every value escaped.
        panelBody.innerHTML = html;
        const heading = byId("panel-heading");
        if (heading) heading.after(risk);
        if (focus && heading) heading.focus();
      })
      .catch(() => {
        if (request === panelRequest) panelBody.textContent = "The details could not be loaded.";
      });
  }

  function closePanel(refocus) {
    panelRequest += 1;
    selected = -1;
    panel.hidden = true;
    panelBody.replaceChildren();
    ring.setAttribute("display", "none");
    edgesSelected.setAttribute("d", "");
    markDependents(-1);
    if (refocus) frame.focus();
  }

  // --- search ------------------------------------------------------------------------------------------

  function closeResults() {
    results.hidden = true;
    results.replaceChildren();
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
    activeResult = -1;
  }

  function showResults() {
    const text = search.value.trim().toLowerCase();
    if (!text || !data) {
      closeResults();
      return;
    }
    const hide = filterMode.value === "hide";
    const items = [];
    for (let i = 0; i < data.nodes.length && items.length < SEARCH_LIMIT; i += 1) {
      const node = data.nodes[i];
      if (hide && !shown[i]) continue;
      if (node.id.toLowerCase().includes(text) || node.name.toLowerCase().includes(text)) {
        const item = document.createElement("li");
        item.id = `map-result-${items.length}`;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.i = String(i);
        item.textContent = `${node.id} — ${node.name || node.material}${node.country ? ` (${node.country})` : ""}`;
        items.push(item);
      }
    }
    if (items.length === 0) {
      const none = document.createElement("li");
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.textContent = "No node matches";
      items.push(none);
    }
    results.replaceChildren(...items);
    results.hidden = false;
    search.setAttribute("aria-expanded", "true");
    setActive(items[0].dataset.i === undefined ? -1 : 0);
  }

  function setActive(position) {
    const items = results.querySelectorAll("li[data-i]");
    activeResult = items.length === 0 ? -1 : Math.max(0, Math.min(items.length - 1, position));
    items.forEach((item, k) => item.setAttribute("aria-selected", k === activeResult ? "true" : "false"));
    if (activeResult >= 0) {
      search.setAttribute("aria-activedescendant", items[activeResult].id);
      items[activeResult].scrollIntoView({ block: "nearest" });
    } else {
      search.removeAttribute("aria-activedescendant");
    }
  }

  function choose(item) {
    if (!item || item.dataset.i === undefined) return;
    const i = Number(item.dataset.i);
    closeResults();
    search.value = data.nodes[i].id;
    select(i, { centre: true, focus: true });
  }

  // --- events (delegated) ------------------------------------------------------------------------------

  let drag = null;
  let justDragged = false;

  frame.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, tx: view_.tx, ty: view_.ty, moved: false, id: event.pointerId };
  });
  frame.addEventListener("pointermove", (event) => {
    if (drag && event.pointerId === drag.id) {
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
        drag.moved = true;
        frame.setPointerCapture(drag.id);
        frame.classList.add("dragging");
        tip.hidden = true;
      }
      if (drag.moved) {
        view_.tx = drag.tx + dx;
        view_.ty = drag.ty + dy;
        schedule();
      }
      return;
    }
    if (!tip.hidden) {
      const box = frame.getBoundingClientRect();
      tip.style.transform = `translate(${event.clientX - box.left + 12}px, ${event.clientY - box.top + 12}px)`;
    }
  });
  const endDrag = (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const moved = drag.moved;
    drag = null;
    frame.classList.remove("dragging");
    if (moved) {
      // A drag ending over a node is a pan, not a click on it (the click follows in this same task).
      justDragged = true;
      setTimeout(() => {
        justDragged = false;
      }, 0);
    }
  };
  frame.addEventListener("pointerup", endDrag);
  frame.addEventListener("pointercancel", endDrag);

  frame.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const box = frame.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    },
    { passive: false },
  );

  frame.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? PAN_STEP * 4 : PAN_STEP;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key]) {
      view_.tx += moves[event.key][0];
      view_.ty += moves[event.key][1];
      schedule();
    } else if (event.key === "+" || event.key === "=") {
      zoomCentre(1.25);
    } else if (event.key === "-" || event.key === "_") {
      zoomCentre(0.8);
    } else if (event.key === "0") {
      fit();
    } else if (event.key === "Escape" && !panel.hidden) {
      closePanel(true);
    } else {
      return;
    }
    event.preventDefault();
  });

  nodeLayer.addEventListener("click", (event) => {
    const target = event.target;
    if (!justDragged && target instanceof SVGCircleElement && target.dataset.i !== undefined) {
      select(Number(target.dataset.i), { centre: false, focus: false });
    }
  });
  nodeLayer.addEventListener("pointerover", (event) => {
    const target = event.target;
    if (drag || !(target instanceof SVGCircleElement) || target.dataset.i === undefined) return;
    const node = data.nodes[Number(target.dataset.i)];
    tip.textContent = `${node.id} ${node.name}${node.country ? ` · ${node.country}` : ""}`;
    tip.hidden = false;
  });
  nodeLayer.addEventListener("pointerout", () => {
    tip.hidden = true;
  });

  root.querySelector(".zoom").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-zoom]");
    if (!button) return;
    if (button.dataset.zoom === "in") zoomCentre(1.25);
    else if (button.dataset.zoom === "out") zoomCentre(0.8);
    else fit();
  });

  search.addEventListener("input", showResults);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (results.hidden) showResults();
      else setActive(activeResult + (event.key === "ArrowDown" ? 1 : -1));
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (results.hidden) showResults();
      const items = results.querySelectorAll("li[data-i]");
      choose(items[Math.max(0, activeResult)]);
    } else if (event.key === "Escape") {
      closeResults();
    }
  });
  search.addEventListener("blur", () => {
    // Let a click on a result land before the list goes away.
    setTimeout(() => {
      if (document.activeElement !== search) closeResults();
    }, 150);
  });
  results.addEventListener("mousedown", (event) => event.preventDefault());
  results.addEventListener("click", (event) => choose(event.target.closest("li[data-i]")));

  panel.addEventListener("click", (event) => {
    if (event.target.closest("#map-panel-close")) {
      closePanel(true);
      return;
    }
    const link = event.target.closest("a[data-node]");
    if (link && indexOf.has(link.dataset.node) && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      select(indexOf.get(link.dataset.node), { centre: true, focus: true });
    }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePanel(true);
  });

  for (const select_ of filterSelects) select_.addEventListener("change", () => data && applyFilters());
  filterMode.addEventListener("change", () => data && applyFilters());
  colourBy.addEventListener("change", () => data && colour());

  // --- start -------------------------------------------------------------------------------------------

  root.hidden = false;
  for (const element of document.querySelectorAll(".js-only")) element.hidden = false;
  fetch(root.dataset.json, { headers: { Accept: "application/json" } })
    .then((answer) => {
      if (!answer.ok) throw new Error(`the map could not be loaded (${answer.status})`);
      return answer.json();
    })
    .then((body) => {
      data = body;
      build();
      colour();
      applyFilters();
      fit();
      root.dataset.ready = "true";
    })
    .catch((error) => {
      statusLine.textContent = `Sorry: ${error.message}. The list below and the node table still work.`;
    });
})();
