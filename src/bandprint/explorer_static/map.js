// The bandprint map page: a plotly scatter of the fingerprint map with band-structure
// thumbnails on hover, a search box, nearest neighbours on click and, in the explorer, a drop
// zone that places an uploaded band structure on the map. The same script serves the
// self-contained report page (data inlined in window.BANDPRINT_DATA) and the explorer (data
// fetched from the server), so both behave the same.
(function () {
  "use strict";
  const cfg = window.BANDPRINT_CONFIG || {};
  const gd = document.getElementById("map");
  const $ = (id) => document.getElementById(id);
  let D = null;
  let traceOf = [];
  let pointOf = [];
  let HL = -1; // trace: the selected material
  let NN = -1; // trace: its neighbours, ringed
  let UP = -1; // trace: uploaded band structures
  let fullRange = null;
  let selected = -1;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function colourOf(c) {
    if (c < 0) return D.unclassified_colour;
    const hit = D.clusters.find((k) => k.id === c);
    return hit ? hit.colour : D.unclassified_colour;
  }
  function clusterName(c) { return c < 0 ? "unclassified" : "cluster " + c; }
  function swatch(c) { return '<span class="swatch" style="background:' + colourOf(c) + '"></span>'; }
  function gapText(i) {
    const g = D.points.band_gap[i];
    return g == null ? D.points.character[i] : D.points.character[i] + (g > 0 ? " (gap " + g.toFixed(2) + " eV)" : "");
  }
  // The k-path as the thumbnail draws it (canonical order, a slab's out-of-plane segments left
  // out) and, where that differs, as the file writes it; the file's alone where no drawn path
  // came with the data, labelled so it is not taken for the picture's.
  function pathText(i) {
    const file = D.points.path[i];
    const drawn = D.points.path_drawn ? D.points.path_drawn[i] : null;
    if (drawn) return { label: "path drawn", text: drawn + (file && file !== drawn ? " (file: " + file + ")" : "") };
    return file ? { label: "path in file", text: file } : null;
  }
  function thumbSrc(i) {
    const id = D.points.id[i];
    if (D.thumbnails) return D.thumbnails[id] || null;
    if (cfg.thumbUrl) return cfg.thumbUrl.replace("{id}", encodeURIComponent(id));
    return null;
  }
  function materialLink(id, text) {
    if (!cfg.materialUrl) return esc(text);
    return '<a href="' + esc(cfg.materialUrl.replace("{id}", encodeURIComponent(id))) + '">' + esc(text) + "</a>";
  }

  function build() {
    const P = D.points;
    const n = P.id.length;
    const small = Math.max(3, Math.min(9, 900 / Math.sqrt(Math.max(n, 1)) / 4));
    traceOf = new Array(n);
    pointOf = new Array(n);
    const traces = [];
    function addTrace(indices, name, colour, size, c) {
      const t = traces.length;
      indices.forEach((i, k) => { traceOf[i] = t; pointOf[i] = k; });
      traces.push({
        type: "scatter", mode: "markers", name: name, hoverinfo: "none",
        x: indices.map((i) => P.x[i]), y: indices.map((i) => P.y[i]), customdata: indices,
        marker: { size: size, color: colour, line: { width: 0 } },
        meta: { cluster: c },
      });
    }
    const byCluster = new Map();
    P.cluster.forEach((c, i) => { if (!byCluster.has(c)) byCluster.set(c, []); byCluster.get(c).push(i); });
    if (byCluster.has(-1)) addTrace(byCluster.get(-1), "unclassified (" + byCluster.get(-1).length + ")", D.unclassified_colour, small * 0.7, -1);
    D.clusters.forEach((k) => { if (byCluster.has(k.id)) addTrace(byCluster.get(k.id), "cluster " + k.id + " (" + k.size + ")", k.colour, small, k.id); });
    NN = traces.length;
    traces.push({ type: "scatter", mode: "markers", name: "neighbours", showlegend: false, hoverinfo: "none",
      x: [], y: [], customdata: [], marker: { size: 15, symbol: "circle-open", color: "#111", line: { width: 2 } } });
    HL = traces.length;
    traces.push({ type: "scatter", mode: "markers", name: "selected", showlegend: false, hoverinfo: "none",
      x: [], y: [], customdata: [], marker: { size: 20, symbol: "star", color: "#ffd400", line: { width: 1.5, color: "#111" } } });
    UP = traces.length;
    traces.push({ type: "scatter", mode: "markers+text", name: "your upload", showlegend: false, hoverinfo: "none",
      x: [], y: [], customdata: [], text: [], textposition: "top center",
      textfont: { color: "#b3261e", size: 13 },
      marker: { size: 18, symbol: "x", color: "#b3261e", line: { width: 1, color: "#fff" } } });

    const shapes = [];
    const annotations = [];
    (D.groups || []).forEach((g) => {
      const path = g.hull.map((p, k) => (k ? "L" : "M") + p[0] + "," + p[1]).join(" ") + " Z";
      shapes.push({ type: "path", path: path, layer: "below", fillcolor: "rgba(74,111,165,0.10)",
        line: { color: "rgba(74,111,165,0.8)", width: 1, dash: "dash" } });
      let top = g.hull[0];
      g.hull.forEach((p) => { if (p[1] > top[1]) top = p; });
      annotations.push({ x: top[0], y: top[1], text: "<b>" + esc(g.letter) + "</b>", showarrow: false,
        yshift: 10, font: { size: 14, color: "#27466e" }, bgcolor: "rgba(255,255,255,0.8)",
        hovertext: esc(g.letter + ": " + g.label) });
    });
    const xs = P.x.filter((v) => v != null);
    const ys = P.y.filter((v) => v != null);
    const pad = (lo, hi) => { const d = (hi - lo) || 1; return [lo - 0.05 * d, hi + 0.05 * d]; };
    fullRange = { x: pad(Math.min(...xs), Math.max(...xs)), y: pad(Math.min(...ys), Math.max(...ys)) };
    const layout = {
      margin: { l: 60, r: 10, t: 30, b: 50 },
      xaxis: { title: { text: "UMAP 1" }, range: fullRange.x, zeroline: false },
      yaxis: { title: { text: "UMAP 2" }, range: fullRange.y, zeroline: false },
      legend: { title: { text: "HDBSCAN clusters (size)" }, itemsizing: "constant", font: { size: 11 } },
      hovermode: "closest", dragmode: "zoom", shapes: shapes, annotations: annotations,
      plot_bgcolor: "#fff",
    };
    Plotly.newPlot(gd, traces, layout, { responsive: true, displaylogo: false, scrollZoom: true });
    gd.on("plotly_hover", onHover);
    gd.on("plotly_unhover", () => { $("tooltip").hidden = true; });
    gd.on("plotly_click", (ev) => {
      const i = pointIndex(ev);
      if (i != null) select(i, false);
    });
    fillSearchOptions();
    showGroups();
    gd.dataset.ready = "1";
  }

  function pointIndex(ev) {
    if (!ev || !ev.points || !ev.points.length) return null;
    const pt = ev.points[0];
    const i = pt.customdata;
    return (typeof i === "number") ? i : null;
  }

  function onHover(ev) {
    const i = pointIndex(ev);
    const tip = $("tooltip");
    if (i == null) { tip.hidden = true; return; }
    const src = thumbSrc(i);
    const kpath = pathText(i);
    tip.innerHTML = (src ? '<img alt="band structure" src="' + esc(src) + '">' : "") +
      "<b>" + esc(D.points.formula[i] || D.points.id[i]) + "</b> " + esc(D.points.id[i]) + "<br>" +
      swatch(D.points.cluster[i]) + esc(clusterName(D.points.cluster[i])) + " · " + esc(gapText(i)) +
      (D.points.prototype && D.points.prototype[i] ? "<br>prototype " + esc(D.points.prototype[i]) : "") +
      (kpath ? '<br><span class="path">' + esc(kpath.label + ": " + kpath.text) + "</span>" : "");
    tip.dataset.id = D.points.id[i];
    tip.hidden = false;
    const e = ev.event || {};
    const w = tip.offsetWidth, h = tip.offsetHeight;
    let left = (e.clientX || 0) + 16, top = (e.clientY || 0) + 16;
    if (left + w > window.innerWidth - 4) left = (e.clientX || 0) - w - 16;
    if (top + h > window.innerHeight - 4) top = Math.max(4, window.innerHeight - h - 4);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function fillSearchOptions() {
    const dl = $("search-options");
    const seen = new Set();
    const parts = [];
    D.points.formula.forEach((f) => { if (f && !seen.has(f)) { seen.add(f); parts.push(f); } });
    D.points.id.forEach((id) => parts.push(id));
    dl.innerHTML = parts.slice(0, 20000).map((v) => '<option value="' + esc(v) + '">').join("");
  }

  function showGroups() {
    if (!D.groups || !D.groups.length) return;
    $("groups").innerHTML = ('<h2>Shaded groups</h2><ul id="group-list">' +
      D.groups.map((g) => "<li><b>" + esc(g.letter) + "</b>: " + esc(g.label) + "</li>").join("") + "</ul>");
  }

  function findMatches(q) {
    const P = D.points;
    const ql = q.toLowerCase();
    let hits = [];
    P.id.forEach((id, i) => { if (id.toLowerCase() === ql) hits.push(i); });
    if (!hits.length) P.formula.forEach((f, i) => { if (f === q) hits.push(i); });
    if (!hits.length) P.formula.forEach((f, i) => { if (f && f.toLowerCase() === ql) hits.push(i); });
    if (!hits.length) {
      P.id.forEach((id, i) => {
        if (id.toLowerCase().includes(ql) || (P.formula[i] || "").toLowerCase().includes(ql)) hits.push(i);
      });
    }
    return hits;
  }

  function search(q) {
    q = (q || "").trim();
    const status = $("search-status");
    if (!q) return;
    const hits = findMatches(q);
    if (!hits.length) {
      status.className = "miss";
      status.textContent = "No material matches “" + q + "”";
      return;
    }
    select(hits[0], true);
    status.className = "found";
    const i = hits[0];
    status.title = hits.length > 1 ? hits.length + " matches" : "";
    status.innerHTML = "Found " + esc(D.points.id[i]) + " · " + esc(D.points.formula[i]) + " · " +
      esc(clusterName(D.points.cluster[i])) +
      (hits.length > 1 ? ' (1 of ' + hits.length + ' matches: <span class="matches">' +
        hits.slice(0, 8).map((j) => '<a href="#" data-index="' + j + '">' + esc(D.points.id[j]) + "</a>").join(", ") +
        (hits.length > 8 ? ", …" : "") + "</span>)" : "");
    status.querySelectorAll("a[data-index]").forEach((a) => a.addEventListener("click", (e) => {
      e.preventDefault(); select(Number(a.dataset.index), true);
    }));
  }

  // Zoom on (x, y) so that the given other points are in view too, no closer than a fifth of
  // the whole map (so the neighbourhood stays readable).
  function zoomTo(x, y, others) {
    const full = Math.max(fullRange.x[1] - fullRange.x[0], fullRange.y[1] - fullRange.y[0]);
    let half = 0.1 * full;
    (others || []).forEach((p) => {
      if (p[0] == null || p[1] == null) return;
      half = Math.max(half, Math.abs(p[0] - x), Math.abs(p[1] - y));
    });
    half = Math.min(half * 1.15, 0.6 * full);
    Plotly.relayout(gd, { "xaxis.range": [x - half, x + half], "yaxis.range": [y - half, y + half] });
  }

  function neighbourList(i) {
    if (!D.neighbours) return null;
    return D.neighbours.index[i].map((j, k) => ({ index: j, distance: D.neighbours.distance[i][k] }));
  }

  function renderNeighbours(target, title, items) {
    if (!items || !items.length) { target.innerHTML = "<h2>" + esc(title) + "</h2><p class='hint'>No neighbours stored.</p>"; return; }
    target.innerHTML = "<h2>" + esc(title) + "</h2><ol class='nn'>" + items.map((it) => {
      const j = it.index;
      return '<li data-id="' + esc(D.points.id[j]) + '" data-index="' + j + '">' +
        '<span class="d">' + Number(it.distance).toPrecision(3) + "</span>" + swatch(D.points.cluster[j]) +
        materialLink(D.points.id[j], D.points.formula[j] || D.points.id[j]) + ' <span class="mid">' +
        (D.points.formula[j] ? esc(D.points.id[j]) + " · " : "") + esc(clusterName(D.points.cluster[j])) + "</span></li>";
    }).join("") + "</ol>";
    target.querySelectorAll("li[data-index]").forEach((li) => li.addEventListener("click", (e) => {
      if (e.target.tagName === "A") return;
      select(Number(li.dataset.index), true);
    }));
  }

  function select(i, zoom) {
    selected = i;
    const P = D.points;
    Plotly.restyle(gd, { x: [[P.x[i]]], y: [[P.y[i]]], customdata: [[i]] }, [HL]);
    const nn = neighbourList(i) || [];
    Plotly.restyle(gd, { x: [nn.map((t) => P.x[t.index])], y: [nn.map((t) => P.y[t.index])],
      customdata: [nn.map((t) => t.index)] }, [NN]);
    if (zoom) zoomTo(P.x[i], P.y[i], nn.map((t) => [P.x[t.index], P.y[t.index]]));
    const src = thumbSrc(i);
    const kpath = pathText(i);
    const sel = $("selected");
    sel.innerHTML = '<div class="card" data-id="' + esc(P.id[i]) + '"><h2>' + materialLink(P.id[i], (P.formula[i] || P.id[i])) + " <small>" + esc(P.id[i]) + "</small></h2>" +
      (src ? '<img alt="band structure of ' + esc(P.id[i]) + '" src="' + esc(src) + '">' : "") +
      '<table class="facts">' +
      "<tr><td>cluster</td><td>" + swatch(P.cluster[i]) + esc(clusterName(P.cluster[i])) +
      (P.probability[i] != null && P.cluster[i] >= 0 ? " (membership " + P.probability[i].toFixed(2) + ")" : "") + "</td></tr>" +
      "<tr><td>character</td><td>" + esc(gapText(i)) + "</td></tr>" +
      (P.prototype && P.prototype[i] ? "<tr><td>prototype</td><td>" + esc(P.prototype[i]) + "</td></tr>" : "") +
      (kpath ? '<tr class="path"><td>' + esc(kpath.label) + "</td><td>" + esc(kpath.text) + "</td></tr>" : "") +
      (P.is_flat[i] != null ? "<tr><td>flat bands</td><td>" + (P.is_flat[i] ? "yes" : "no") + "</td></tr>" : "") +
      "</table></div>";
    gd.dataset.selected = P.id[i];
    renderNeighbours($("neighbours"), "Nearest neighbours of " + (P.formula[i] || P.id[i]), nn);
  }

  // -- uploads (explorer only) --------------------------------------------------------------
  function setupUpload() {
    if (!cfg.projectUrl) return;
    $("upload").hidden = false;
    const dz = $("dropzone");
    ["dragenter", "dragover"].forEach((t) => dz.addEventListener(t, (e) => { e.preventDefault(); dz.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => dz.addEventListener(t, (e) => { e.preventDefault(); dz.classList.remove("over"); }));
    dz.addEventListener("drop", (e) => upload(e.dataTransfer.files));
    $("upload-input").addEventListener("change", (e) => upload(e.target.files));
  }

  async function upload(files) {
    const status = $("upload-status");
    const result = $("upload-result");
    if (!files || !files.length) return;
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    status.className = "";
    status.textContent = "Reading and fingerprinting " + Array.from(files).map((f) => f.name).join(", ") + " …";
    result.innerHTML = "";
    let reply;
    try {
      const res = await fetch(cfg.projectUrl, { method: "POST", body: form });
      reply = await res.json();
    } catch (err) {
      reply = { ok: false, error: "the explorer did not answer (" + err + ")" };
    }
    if (!reply.ok) {
      status.className = "error";
      status.textContent = "Error: " + reply.error;
      return;
    }
    const R = reply.results;
    Plotly.restyle(gd, { x: [R.map((r) => r.x)], y: [R.map((r) => r.y)], text: [R.map((r) => r.formula || r.material_id)] }, [UP]);
    status.className = "found";
    status.textContent = R.length + " band structure" + (R.length > 1 ? "s" : "") + " placed on the map (red ×)" +
      (reply.skipped && reply.skipped.length ? "; skipped: " + reply.skipped.join("; ") : "");
    result.innerHTML = R.map((r, k) => '<div class="upload-item" id="upload-item-' + k + '"></div>').join("");
    R.forEach((r, k) => {
      const box = $("upload-item-" + k);
      const items = r.neighbours.map((nb) => ({ index: nb.index, distance: nb.distance }));
      renderNeighbours(box, "Nearest to your " + (r.formula || r.material_id), items);
      box.insertAdjacentHTML("afterbegin", "<p class='hint'>" + esc(r.placement) + "</p>");
    });
    if (R.length) {
      const idx = R[0].neighbours.filter((nb) => nb.index != null).map((nb) => nb.index);
      Plotly.restyle(gd, { x: [idx.map((j) => D.points.x[j])], y: [idx.map((j) => D.points.y[j])],
        customdata: [idx] }, [NN]);
      zoomTo(R[0].x, R[0].y, idx.map((j) => [D.points.x[j], D.points.y[j]]));
    }
  }

  // -- test and notebook hooks ----------------------------------------------------------
  function pointPosition(i) {
    const fl = gd._fullLayout;
    const rect = gd.getBoundingClientRect();
    return { x: rect.left + fl.xaxis._offset + fl.xaxis.l2p(D.points.x[i]),
      y: rect.top + fl.yaxis._offset + fl.yaxis.l2p(D.points.y[i]) };
  }
  window.bandprintMap = {
    search: search, select: select, pointPosition: pointPosition,
    indexOf: (id) => D.points.id.indexOf(id), data: () => D, selected: () => selected,
  };

  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("search").value); });
  $("search").addEventListener("change", () => search($("search").value));

  async function start() {
    D = window.BANDPRINT_DATA;
    if (!D && cfg.dataUrl) {
      const res = await fetch(cfg.dataUrl);
      D = await res.json();
    }
    build();
    setupUpload();
    const want = new URLSearchParams(window.location.search).get("q");
    if (want) { $("search").value = want; search(want); }
  }
  start();
})();
