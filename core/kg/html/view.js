// Offline knowledge-graph view: the graph on a canvas (layout: layout.js); pan, zoom, drag, click, filter, search.
// Data comes from <script id="kg-data">. Every name reaches the page through textContent, never as HTML.
// Open the page with #selftest (optionally #selftest&click=<URI-encoded node name>, or &edge=<URI-encoded JSON
// [head, relation, tail]> to click that edge) to run a self-check whose result is written as JSON into
// <pre id="selftest">.
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("kg-data").textContent);
  var N = D.nodes.length, E = D.edges.length;
  var canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
  var PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#8c8d91", "#2f6db3", "#c8553d", "#2a9d8f", "#8f5db7", "#d4a017"];
  var deg = new Int32Array(N), radius = new Float64Array(N);
  var shownRel = D.relations.map(function () { return true; });
  var adj = [], byRel = D.relations.map(function () { return []; }); // node -> edges; relation -> edges
  var i, k;
  for (i = 0; i < N; i++) adj.push([]);
  for (k = 0; k < E; k++) {
    var e = D.edges[k];
    deg[e[0]]++; deg[e[1]]++; adj[e[0]].push(k); if (e[1] !== e[0]) adj[e[1]].push(k); byRel[e[2]].push(k);
  }
  var bend = new Float64Array(E), pairs = {}; // parallel edges between two nodes are drawn as separate curves
  for (k = 0; k < E; k++) {
    var pk = Math.min(D.edges[k][0], D.edges[k][1]) + "," + Math.max(D.edges[k][0], D.edges[k][1]);
    (pairs[pk] = pairs[pk] || []).push(k);
  }
  Object.keys(pairs).forEach(function (pk) {
    var list = pairs[pk], m = list.length;
    list.forEach(function (k, j) {
      var b = m > 1 ? (j - (m - 1) / 2) * 0.35 : 0;
      bend[k] = D.edges[k][0] <= D.edges[k][1] ? b : -b; // same side whichever way the edge points
    });
  });
  for (i = 0; i < N; i++) radius[i] = Math.min(18, 4 + 1.6 * Math.sqrt(deg[i]));
  var layout = kgLayout(N, D.edges, deg), x = layout.x, y = layout.y, fixed = layout.fixed, tick = layout.tick;
  var view = { tx: 0, ty: 0, s: 1, w: 300, h: 150 }, autoFit = true, selected = -1, hover = -1;
  var selectedEdge = -1; // an edge clicked on the canvas (then selected is -1)
  var lastDrawn = { nodes: 0, edges: 0, edgeLabels: [] }, MAX_LISTED = 300, MAX_EDGE_LABELS = 300;
  var FONT = getComputedStyle(document.body).fontFamily || "sans-serif"; // the stack named in view.css
  var labelOrder = []; // edges to label first: those between the best-connected nodes (nodes come sorted by degree)
  for (k = 0; k < E; k++) labelOrder.push(k);
  labelOrder.sort(function (a, b) {
    return Math.max(D.edges[a][0], D.edges[a][1]) - Math.max(D.edges[b][0], D.edges[b][1]) || a - b;
  });

  // ---- drawing --------------------------------------------------------------------------------------------------
  function resize() {
    var rect = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    view.w = Math.max(1, rect.width); view.h = Math.max(1, rect.height);
    canvas.width = Math.round(view.w * dpr); canvas.height = Math.round(view.h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function fit() {
    if (!N) return;
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (i = 0; i < N; i++) {
      minX = Math.min(minX, x[i] - radius[i]); maxX = Math.max(maxX, x[i] + radius[i]);
      minY = Math.min(minY, y[i] - radius[i]); maxY = Math.max(maxY, y[i] + radius[i]);
    }
    var s = Math.min(view.w / (maxX - minX + 40), view.h / (maxY - minY + 40), 3);
    view.s = s; view.tx = view.w / 2 - s * (minX + maxX) / 2; view.ty = view.h / 2 - s * (minY + maxY) / 2;
  }
  function color(rel) { return PALETTE[rel % PALETTE.length]; }
  function neighbours(n) {
    var set = {};
    if (n < 0) return set;
    adj[n].forEach(function (k) { var e = D.edges[k]; if (shownRel[e[2]]) { set[e[0]] = 1; set[e[1]] = 1; } });
    return set;
  }
  function edgePath(k, lp, ap) { // a line (a curve for parallel edges, a loop for self-edges) + an arrowhead
    var e = D.edges[k], s = e[0], t = e[1], head = 7 / view.s;
    if (s === t) {
      var lr = radius[s] + 6;
      lp.moveTo(x[s] + lr * 2, y[s] - lr); lp.arc(x[s] + lr, y[s] - lr, lr, 0, 2 * Math.PI);
      return;
    }
    var dx = x[t] - x[s], dy = y[t] - y[s], l = Math.sqrt(dx * dx + dy * dy) || 1;
    var mx = (x[s] + x[t]) / 2 - dy * bend[k], my = (y[s] + y[t]) / 2 + dx * bend[k];
    lp.moveTo(x[s], y[s]); lp.quadraticCurveTo(mx, my, x[t], y[t]);
    if (l < radius[t] + head * 2) return;
    var ax = x[t] - mx, ay = y[t] - my, al = Math.sqrt(ax * ax + ay * ay) || 1;
    ax /= al; ay /= al;
    var px = x[t] - ax * radius[t], py = y[t] - ay * radius[t];
    ap.moveTo(px, py);
    ap.lineTo(px - ax * head - ay * head * 0.45, py - ay * head + ax * head * 0.45);
    ap.lineTo(px - ax * head + ay * head * 0.45, py - ay * head - ax * head * 0.45);
    ap.closePath();
  }
  function edgeLabelPass(boxes) { // the relation at an edge's middle, where the edge is long enough and nothing overlaps
    var drawn = [];
    ctx.font = 10 / view.s + "px " + FONT; ctx.textAlign = "center"; ctx.lineJoin = "round";
    for (var j = 0; j < E && drawn.length < MAX_EDGE_LABELS; j++) {
      var k = labelOrder[j], e = D.edges[k], s = e[0], t = e[1];
      if (s === t || !shownRel[e[2]] || (selected >= 0 && s !== selected && t !== selected)) continue;
      var dx = x[t] - x[s], dy = y[t] - y[s], len = Math.sqrt(dx * dx + dy * dy);
      var text = D.relations[e[2]].replace(/\s+/g, " ");
      if (text.length > 30) text = text.slice(0, 29) + "…";
      var w = ctx.measureText(text).width * view.s, room = (len - radius[s] - radius[t]) * view.s;
      if (room < w + 12) continue; // no space on this edge
      var mx = (x[s] + x[t]) / 2 - dy * bend[k], my = (y[s] + y[t]) / 2 + dx * bend[k];
      var lx = 0.25 * x[s] + 0.5 * mx + 0.25 * x[t], ly = 0.25 * y[s] + 0.5 * my + 0.25 * y[t];
      var sx = view.tx + lx * view.s - w / 2, sy = view.ty + ly * view.s;
      if (sx > view.w || sx + w < 0 || sy < -10 || sy > view.h + 10) continue;
      var clash = false;
      for (var b = 0; b < boxes.length && !clash; b++) {
        var o = boxes[b];
        clash = sx < o[0] + o[2] && o[0] < sx + w && Math.abs(sy - o[1]) < 12;
      }
      if (clash) continue;
      boxes.push([sx, sy, w]);
      ctx.lineWidth = 3 / view.s; ctx.strokeStyle = "rgba(247,248,250,0.9)"; ctx.strokeText(text, lx, ly);
      ctx.fillStyle = color(e[2]); ctx.fillText(text, lx, ly);
      drawn.push(D.relations[e[2]]);
    }
    ctx.textAlign = "start";
    return drawn;
  }
  function draw() {
    ctx.save(); ctx.clearRect(0, 0, view.w, view.h);
    ctx.translate(view.tx, view.ty); ctx.scale(view.s, view.s);
    var drawnEdges = 0, near = neighbours(selected), focused = selected >= 0 || selectedEdge >= 0;
    if (selectedEdge >= 0) { near[D.edges[selectedEdge][0]] = 1; near[D.edges[selectedEdge][1]] = 1; }
    ctx.lineWidth = 1 / view.s;
    for (var r = 0; r < D.relations.length; r++) {
      if (!shownRel[r]) continue;
      var lp = new Path2D(), ap = new Path2D();
      ctx.strokeStyle = ctx.fillStyle = color(r); ctx.globalAlpha = focused ? 0.15 : 0.55;
      for (var j = 0; j < byRel[r].length; j++) { edgePath(byRel[r][j], lp, ap); drawnEdges++; }
      ctx.stroke(lp); ctx.fill(ap);
    }
    ctx.globalAlpha = 1;
    if (selected >= 0) {
      ctx.lineWidth = 2 / view.s;
      adj[selected].forEach(function (k) {
        var e = D.edges[k];
        if (!shownRel[e[2]]) return;
        var lp = new Path2D(), ap = new Path2D();
        ctx.strokeStyle = ctx.fillStyle = color(e[2]); edgePath(k, lp, ap); ctx.stroke(lp); ctx.fill(ap);
      });
    }
    if (selectedEdge >= 0 && shownRel[D.edges[selectedEdge][2]]) {
      var slp = new Path2D(), sap = new Path2D();
      ctx.lineWidth = 3 / view.s; ctx.strokeStyle = ctx.fillStyle = color(D.edges[selectedEdge][2]);
      edgePath(selectedEdge, slp, sap); ctx.stroke(slp); ctx.fill(sap);
    }
    var drawnNodes = 0;
    for (i = 0; i < N; i++) {
      ctx.beginPath(); ctx.arc(x[i], y[i], radius[i], 0, 2 * Math.PI);
      ctx.fillStyle = i === selected ? "#e15759" : (near[i] ? "#f28e2b" : (focused ? "#b8c2d6" : "#4e79a7"));
      ctx.fill(); ctx.lineWidth = 1.2 / view.s; ctx.strokeStyle = "#fff"; ctx.stroke(); drawnNodes++;
    }
    ctx.fillStyle = "#1d2330"; ctx.font = 12 / view.s + "px " + FONT; ctx.textBaseline = "middle";
    var boxes = [], nearCount = Object.keys(near).length;
    function label(n, force) { // skip a label that would overlap one already drawn (screen space), unless forced
      var name = D.nodes[n].name.replace(/\s+/g, " ");
      if (name.length > 40) name = name.slice(0, 39) + "…";
      var sx = view.tx + (x[n] + radius[n]) * view.s + 3, sy = view.ty + y[n] * view.s, w = ctx.measureText(name).width * view.s;
      if (sx > view.w || sx + w < 0 || sy < -10 || sy > view.h + 10) return;
      for (var b = 0; b < boxes.length && !force; b++) {
        var o = boxes[b];
        if (sx < o[0] + o[2] && o[0] < sx + w && Math.abs(sy - o[1]) < 14) return;
      }
      boxes.push([sx, sy, w]);
      ctx.fillText(name, x[n] + radius[n] + 3 / view.s, y[n]);
    }
    if (selected >= 0) label(selected, true);
    if (hover >= 0 && hover !== selected) label(hover, true);
    for (i = 0; i < N && boxes.length < 200; i++) { // nodes come sorted by degree: the biggest get labels first
      if (i === selected || i === hover) continue;
      if ((near[i] && nearCount <= 60) || radius[i] * view.s > 5) label(i, false);
    }
    var edgeLabels = edgeLabelPass(boxes);
    ctx.restore();
    lastDrawn = { nodes: drawnNodes, edges: drawnEdges, edgeLabels: edgeLabels };
  }
  var running = false;
  function frame() {
    for (var t = 0; t < 2 && layout.alpha > 0.002; t++) tick();
    if (autoFit) fit();
    draw();
    if (layout.alpha > 0.002) requestAnimationFrame(frame); else running = false;
  }
  function start(a) {
    layout.alpha = Math.max(layout.alpha, a);
    if (!running) { running = true; requestAnimationFrame(frame); }
  }

  // ---- interaction ----------------------------------------------------------------------------------------------
  function toWorld(px, py) { return [(px - view.tx) / view.s, (py - view.ty) / view.s]; }
  function hit(px, py) {
    var w = toWorld(px, py), best = -1, bestD = Infinity;
    for (i = 0; i < N; i++) {
      var dx = x[i] - w[0], dy = y[i] - w[1], d = dx * dx + dy * dy, rr = radius[i] + 4 / view.s;
      if (d <= rr * rr && d < bestD) { best = i; bestD = d; }
    }
    return best;
  }
  function control(k) { // the control point of an edge's curve (its middle when the edge is straight)
    var e = D.edges[k], s = e[0], t = e[1], dx = x[t] - x[s], dy = y[t] - y[s];
    return [(x[s] + x[t]) / 2 - dy * bend[k], (y[s] + y[t]) / 2 + dx * bend[k]];
  }
  function segDist(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    var u = l2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0, ex = ax + u * dx - px, ey = ay + u * dy - py;
    return Math.sqrt(ex * ex + ey * ey);
  }
  function hitEdge(px, py) { // the shown edge nearest a screen point, within 5 px of its line; -1 when none
    var w = toWorld(px, py), best = -1, bestD = 5 / view.s;
    for (var k = 0; k < E; k++) {
      var e = D.edges[k], s = e[0], t = e[1], d = Infinity;
      if (!shownRel[e[2]]) continue;
      if (s === t) {
        var lr = radius[s] + 6, lx = w[0] - x[s] - lr, ly = w[1] - y[s] + lr;
        d = Math.abs(Math.sqrt(lx * lx + ly * ly) - lr);
      } else {
        var c = control(k), ax = x[s], ay = y[s];
        for (var j = 1; j <= 16; j++) {
          var u = j / 16, bx = (1 - u) * (1 - u) * x[s] + 2 * u * (1 - u) * c[0] + u * u * x[t];
          var by = (1 - u) * (1 - u) * y[s] + 2 * u * (1 - u) * c[1] + u * u * y[t];
          d = Math.min(d, segDist(w[0], w[1], ax, ay, bx, by)); ax = bx; ay = by;
        }
      }
      if (d < bestD) { bestD = d; best = k; }
    }
    return best;
  }
  var drag = null;
  function local(ev) { var r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
  canvas.addEventListener("pointerdown", function (ev) {
    var p = local(ev), n = hit(p[0], p[1]);
    drag = { node: n, x: p[0], y: p[1], moved: false };
    try { canvas.setPointerCapture(ev.pointerId); } catch (err) { /* synthetic events have no capture */ }
    canvas.classList.add("dragging");
    if (n >= 0) fixed[n] = 1;
  });
  canvas.addEventListener("pointermove", function (ev) {
    var p = local(ev);
    if (!drag) { var h = hit(p[0], p[1]); if (h !== hover) { hover = h; draw(); } return; }
    if (Math.abs(p[0] - drag.x) + Math.abs(p[1] - drag.y) > 3) drag.moved = true;
    if (!drag.moved) return;
    autoFit = false;
    if (drag.node >= 0) {
      var w = toWorld(p[0], p[1]); x[drag.node] = w[0]; y[drag.node] = w[1]; start(0.3);
    } else { view.tx += p[0] - drag.x; view.ty += p[1] - drag.y; drag.x = p[0]; drag.y = p[1]; }
    draw();
  });
  canvas.addEventListener("pointerup", function (ev) {
    if (!drag) return;
    if (drag.node >= 0) fixed[drag.node] = 0;
    if (!drag.moved && drag.node >= 0) select(drag.node);
    else if (!drag.moved) { var p = local(ev), ke = hitEdge(p[0], p[1]); if (ke >= 0) selectEdge(ke); else select(-1); }
    drag = null; canvas.classList.remove("dragging");
  });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault(); autoFit = false;
    var p = local(ev), f = Math.exp(-ev.deltaY * 0.0015), s = Math.min(40, Math.max(0.02, view.s * f));
    view.tx = p[0] - (p[0] - view.tx) * s / view.s; view.ty = p[1] - (p[1] - view.ty) * s / view.s; view.s = s; draw();
  }, { passive: false });
  window.addEventListener("resize", function () { resize(); if (autoFit) fit(); draw(); });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function select(n) {
    selected = n; selectedEdge = -1;
    var title = document.getElementById("detail-title"), body = document.getElementById("detail-body");
    body.textContent = "";
    if (n < 0) { title.textContent = "Nothing selected"; body.appendChild(el("p", "muted", "Click a node or an edge.")); draw(); return; }
    var node = D.nodes[n];
    title.textContent = node.name;
    if (node.types.length) body.appendChild(el("div", "types", "type: " + node.types.join(", ")));
    if (node.aliases && node.aliases.length) {
      var al = el("div", "aliases", "also: ");
      node.aliases.forEach(function (a) { al.appendChild(el("span", "alias", a)); });
      body.appendChild(al);
    }
    var listed = adj[n].filter(function (k) { return shownRel[D.edges[k][2]]; });
    var note = listed.length + " edge(s) shown";
    if (node.degree > adj[n].length) note += " of " + node.degree + " in the whole graph (the others lead to nodes not drawn)";
    body.appendChild(el("p", "muted", note));
    if (listed.length > MAX_LISTED) body.appendChild(el("p", "muted", "listing the first " + MAX_LISTED));
    listed.slice(0, MAX_LISTED).forEach(function (k) {
      var e = D.edges[k], out = e[0] === n, other = out ? e[1] : e[0], box = el("div", "edge"), line = el("div", "line");
      line.appendChild(el("span", null, out ? "→ " : "← "));
      line.appendChild(el("span", "rel", D.relations[e[2]]));
      line.appendChild(el("span", null, out ? " → " : " ← "));
      var link = el("button", "other", D.nodes[other].name);
      link.type = "button"; link.addEventListener("click", function () { focus(other); });
      line.appendChild(link);
      line.appendChild(el("span", "muted", "  ×" + e[3]));
      box.appendChild(line);
      addSources(box, e);
      body.appendChild(box);
    });
    draw();
  }
  function sentence(src) { // the evidence sentence; its head and tail mentions (code-point offsets) in <mark>s
    var box = el("span", "sentence"), chars = Array.from(D.texts[src[1]]), at = 0;
    (src[8] || []).slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (m) {
      if (m[0] < at || m[1] > chars.length) return; // overlaps the mention before it, or does not fit
      if (m[0] > at) box.appendChild(document.createTextNode(chars.slice(at, m[0]).join("")));
      var mark = el("mark", m[2], chars.slice(m[0], m[1]).join("")); mark.title = m[2] + " mention";
      box.appendChild(mark); at = m[1];
    });
    if (at < chars.length) box.appendChild(document.createTextNode(chars.slice(at).join("")));
    return box;
  }
  function addSources(box, e) { // an edge's provenance: where each statement came from, and its sentence
    e[4].forEach(function (si) {
      var src = D.sources[si], p = el("div", "prov");
      var meta = "record " + src[0] + (src[6] != null ? " · document " + src[6] : "") +
        (src[7] != null ? " · chunk " + src[7] : "") + (src[2] ? " · run " + src[2] : "") +
        (src[3] ? " · model " + src[3] : "") + (src[4] ? " · " + src[4] + (src[5] ? ":" + src[5] : "") : "") +
        (src[9] ? " · grounding: head " + (src[9][0] || "?") + ", tail " + (src[9][1] || "?") : "");
      p.appendChild(el("div", "meta", meta));
      if (src[1] >= 0) p.appendChild(sentence(src));
      box.appendChild(p);
    });
    if (e[3] > e[4].length) box.appendChild(el("div", "prov muted", (e[3] - e[4].length) + " more source(s) not listed"));
  }
  function selectEdge(k) { // an edge clicked on the canvas: its fact, count and sources
    var e = D.edges[k], title = document.getElementById("detail-title"), body = document.getElementById("detail-body");
    selected = -1; selectedEdge = k; body.textContent = "";
    title.textContent = D.nodes[e[0]].name + " → " + D.relations[e[2]] + " → " + D.nodes[e[1]].name;
    var box = el("div", "edge"), line = el("div", "line");
    [[e[0], ""], [-1, " → "], [e[1], " → "]].forEach(function (part) {
      if (part[1]) line.appendChild(el("span", null, part[1]));
      if (part[0] < 0) { line.appendChild(el("span", "rel", D.relations[e[2]])); return; }
      var link = el("button", "other", D.nodes[part[0]].name), n = part[0];
      link.type = "button"; link.addEventListener("click", function () { focus(n); });
      line.appendChild(link);
    });
    line.appendChild(el("span", "muted", "  ×" + e[3]));
    box.appendChild(line); addSources(box, e); body.appendChild(box);
    draw();
  }
  function refresh() { if (selectedEdge >= 0) selectEdge(selectedEdge); else select(selected); }
  function focus(n) {
    autoFit = false; view.s = Math.max(view.s, 1.2);
    view.tx = view.w / 2 - x[n] * view.s; view.ty = view.h / 2 - y[n] * view.s; select(n);
  }

  var search = document.getElementById("search"), results = document.getElementById("results");
  function matches(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    var out = [];
    function hit(s) { return s.toLowerCase().indexOf(q) >= 0; }
    for (i = 0; i < N && out.length < 20; i++) if (hit(D.nodes[i].name) || (D.nodes[i].aliases || []).some(hit)) out.push(i);
    return out;
  }
  search.addEventListener("input", function () {
    results.textContent = "";
    matches(search.value).forEach(function (n) {
      var b = el("button", null, D.nodes[n].name); b.type = "button";
      b.addEventListener("click", function () { focus(n); results.textContent = ""; });
      results.appendChild(b);
    });
  });
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var m = matches(search.value); if (m.length) { focus(m[0]); results.textContent = ""; } }
    if (ev.key === "Escape") results.textContent = "";
  });

  var relBox = document.getElementById("relations"), relCount = D.relations.map(function () { return 0; }), boxes = [];
  D.edges.forEach(function (e) { relCount[e[2]]++; });
  D.relations.forEach(function (rel, r) {
    var label = el("label"), cb = el("input"), sw = el("span", "swatch");
    cb.type = "checkbox"; cb.checked = true; sw.style.background = color(r);
    cb.addEventListener("change", function () { shownRel[r] = cb.checked; refresh(); });
    label.appendChild(cb); label.appendChild(sw); label.appendChild(el("span", null, rel + " (" + relCount[r] + ")"));
    relBox.appendChild(label); boxes.push(cb);
  });
  function setAll(v) { boxes.forEach(function (cb, r) { cb.checked = v; shownRel[r] = v; }); refresh(); }
  document.getElementById("all").addEventListener("click", function () { setAll(true); });
  document.getElementById("none").addEventListener("click", function () { setAll(false); });

  document.getElementById("counts").textContent = D.total_nodes + " nodes, " + D.total_edges + " edges";
  if (D.shown_nodes < D.total_nodes) {
    var capEl = document.getElementById("cap");
    capEl.hidden = false;
    capEl.textContent = "Showing " + D.shown_nodes + " of " + D.total_nodes + " nodes (the " + D.shown_nodes +
      " with the most edges) and " + D.shown_edges + " of " + D.total_edges + " edges";
  }

  // ---- self-test ------------------------------------------------------------------------------------------------
  function distinctGlyphs(text) { // how many different pictures the page font draws for the characters of `text`:
    var c = document.createElement("canvas"), g, seen = {}, n = 0; // missing glyphs (tofu boxes) all look the same
    c.width = c.height = 40; g = c.getContext("2d");
    Array.from(text).forEach(function (ch) {
      g.clearRect(0, 0, 40, 40); g.fillStyle = "#000"; g.font = "28px " + FONT; g.textBaseline = "top"; g.fillText(ch, 4, 4);
      var d = g.getImageData(0, 0, 40, 40).data, h = 0;
      for (var p = 3; p < d.length; p += 4) h = (h * 31 + d[p]) | 0;
      if (!(h in seen)) { seen[h] = 1; n++; }
    });
    return n;
  }
  function selftest() {
    var params = new URLSearchParams(location.hash.slice(1)), target = 0, edge = -1, res = { ok: false };
    try {
      if (params.has("click")) target = D.nodes.findIndex(function (n) { return n.name === params.get("click"); });
      if (params.has("edge")) {
        var want = JSON.parse(params.get("edge"));
        target = -1;
        edge = D.edges.findIndex(function (e) {
          return D.nodes[e[0]].name === want[0] && D.relations[e[2]] === want[1] && D.nodes[e[1]].name === want[2];
        });
      }
      resize();
      while (layout.alpha > 0.002) tick();
      fit(); draw();
      res.drawn_nodes = lastDrawn.nodes; res.drawn_edges = lastDrawn.edges;
      res.total_nodes = D.total_nodes; res.shown_nodes = D.shown_nodes;
      res.names = D.nodes.map(function (n) { return n.name; });
      res.relations = D.relations.slice();
      res.cap_text = document.getElementById("cap").hidden ? "" : document.getElementById("cap").textContent;
      res.edge_labels = lastDrawn.edgeLabels.slice();
      res.font = FONT;
      res.glyphs = {};
      ["北京大学", params.get("glyphs") || ""].forEach(function (t) { if (t) res.glyphs[t] = distinctGlyphs(t); });
      if ((target >= 0 && N) || edge >= 0) {
        var r = canvas.getBoundingClientRect(), wx = target >= 0 ? x[target] : 0, wy = target >= 0 ? y[target] : 0;
        if (edge >= 0) { // the middle of the edge's curve
          var ce = control(edge), es = D.edges[edge][0], et = D.edges[edge][1];
          wx = 0.25 * x[es] + 0.5 * ce[0] + 0.25 * x[et]; wy = 0.25 * y[es] + 0.5 * ce[1] + 0.25 * y[et];
        }
        var sx = r.left + view.tx + wx * view.s, sy = r.top + view.ty + wy * view.s;
        ["pointerdown", "pointerup"].forEach(function (type) {
          canvas.dispatchEvent(new PointerEvent(type, { clientX: sx, clientY: sy, bubbles: true, pointerId: 1, button: 0 }));
        });
        res.clicked = target >= 0 ? D.nodes[target].name : null;
        res.clicked_edge = edge >= 0 ? [D.nodes[D.edges[edge][0]].name, D.relations[D.edges[edge][2]], D.nodes[D.edges[edge][1]].name] : null;
        res.selected_edge = selectedEdge;
        res.selected = document.getElementById("detail-title").textContent;
        res.panel_text = document.getElementById("detail-body").textContent;
        res.sentences = Array.prototype.map.call(document.querySelectorAll("#detail-body .sentence"), function (s) { return s.textContent; });
        res.marks = Array.prototype.map.call(document.querySelectorAll("#detail-body .sentence"), function (s) {
          return Array.prototype.map.call(s.querySelectorAll("mark"), function (m) { // class, text, code-point offset
            var before = 0;
            for (var nd = m.previousSibling; nd; nd = nd.previousSibling) before += Array.from(nd.textContent).length;
            return [m.className, m.textContent, before];
          });
        });
      }
      res.ok = true;
    } catch (err) { res.error = String(err && err.stack || err); }
    var pre = document.getElementById("selftest");
    pre.textContent = JSON.stringify(res);
  }

  resize();
  if (/^#selftest/.test(location.hash)) selftest(); else start(1);
})();
