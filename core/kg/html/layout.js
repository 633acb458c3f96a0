// Force-directed layout for view.js: Barnes-Hut repulsion, springs along edges, a pull to the centre; nodes start
// on a sunflower spiral. kgLayout(n, edges, deg) -> {x, y, fixed, alpha, tick}: `tick()` moves every node not
// `fixed` one step and cools `alpha` (the layout is settled below 0.002; raise it to move the nodes again).
"use strict";
function kgLayout(N, edges, deg) {
  var x = new Float64Array(N), y = new Float64Array(N), vx = new Float64Array(N), vy = new Float64Array(N);
  var fixed = new Int8Array(N), E = edges.length, i, k;
  var L = { x: x, y: y, fixed: fixed, alpha: 1, tick: tick };
  for (i = 0; i < N; i++) {
    var r0 = 10 * Math.sqrt(0.5 + i), a0 = i * Math.PI * (3 - Math.sqrt(5));
    x[i] = r0 * Math.cos(a0); y[i] = r0 * Math.sin(a0);
  }
  // ---- forces ---------------------------------------------------------------------------------------------------
  var cap = 4 * N + 8, cx = new Float64Array(cap), cy = new Float64Array(cap), cm = new Float64Array(cap);
  var cx0 = new Float64Array(cap), cy0 = new Float64Array(cap), cs = new Float64Array(cap);
  var child = new Int32Array(4 * cap), body = new Int32Array(cap), ncell = 0;
  function newCell(x0, y0, s) {
    if (ncell >= cap) return -1;
    cx0[ncell] = x0; cy0[ncell] = y0; cs[ncell] = s; cm[ncell] = 0; cx[ncell] = 0; cy[ncell] = 0; body[ncell] = -1;
    child[4 * ncell] = child[4 * ncell + 1] = child[4 * ncell + 2] = child[4 * ncell + 3] = -1;
    return ncell++;
  }
  function quadrant(c, px, py) {
    var h = cs[c] / 2;
    return (px >= cx0[c] + h ? 1 : 0) + (py >= cy0[c] + h ? 2 : 0);
  }
  function childOf(c, q) {
    var j = child[4 * c + q];
    if (j < 0) {
      var h = cs[c] / 2;
      j = newCell(cx0[c] + (q & 1 ? h : 0), cy0[c] + (q & 2 ? h : 0), h);
      if (j >= 0) child[4 * c + q] = j;
    }
    return j;
  }
  function insert(n) {
    var c = 0, depth = 0;
    while (true) {
      cm[c] += 1; cx[c] += x[n]; cy[c] += y[n];
      var isLeaf = child[4 * c] < 0 && child[4 * c + 1] < 0 && child[4 * c + 2] < 0 && child[4 * c + 3] < 0;
      if (isLeaf && cm[c] === 1) { body[c] = n; return; }
      if (depth > 40 || ncell >= cap - 4) { body[c] = -2; return; } // coincident points: keep them as one mass
      if (isLeaf && body[c] >= 0) { // push the resident body one level down
        var b = body[c], qb = childOf(c, quadrant(c, x[b], y[b]));
        body[c] = -1;
        if (qb < 0) { body[c] = -2; return; }
        cm[qb] += 1; cx[qb] += x[b]; cy[qb] += y[b]; body[qb] = b;
      } else if (isLeaf && body[c] === -2) { return; }
      var nc = childOf(c, quadrant(c, x[n], y[n]));
      if (nc < 0) { body[c] = -2; return; }
      c = nc; depth++;
    }
  }
  var stack = new Int32Array(cap);
  function repulsion(strength) {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (i = 0; i < N; i++) {
      if (x[i] < minX) minX = x[i]; if (x[i] > maxX) maxX = x[i]; if (y[i] < minY) minY = y[i]; if (y[i] > maxY) maxY = y[i];
    }
    ncell = 0; newCell(minX - 1, minY - 1, Math.max(maxX - minX, maxY - minY) + 2);
    for (i = 0; i < N; i++) insert(i);
    for (i = 0; i < N; i++) {
      var sp = 0; stack[sp++] = 0;
      while (sp > 0) {
        var c = stack[--sp];
        if (cm[c] === 0 || body[c] === i) continue;
        var dx = cx[c] / cm[c] - x[i], dy = cy[c] / cm[c] - y[i], d2 = dx * dx + dy * dy;
        var leaf = child[4 * c] < 0 && child[4 * c + 1] < 0 && child[4 * c + 2] < 0 && child[4 * c + 3] < 0;
        if (leaf || cs[c] * cs[c] < 0.81 * d2) {
          if (d2 < 1e-6) { dx = (i % 7) - 3 + 0.5; dy = (i % 5) - 2 + 0.5; d2 = dx * dx + dy * dy; }
          if (d2 < 100) d2 = Math.sqrt(100 * d2);
          var f = strength * L.alpha * cm[c] / d2;
          vx[i] -= dx * f; vy[i] -= dy * f;
        } else {
          for (var q = 0; q < 4; q++) if (child[4 * c + q] >= 0) stack[sp++] = child[4 * c + q];
        }
      }
    }
  }
  function tick() {
    repulsion(30);
    for (k = 0; k < E; k++) {
      var s = edges[k][0], t = edges[k][1];
      if (s === t) continue;
      var dx = x[t] + vx[t] - x[s] - vx[s], dy = y[t] + vy[t] - y[s] - vy[s], l = Math.sqrt(dx * dx + dy * dy) || 1;
      var f = (l - 40) / l * L.alpha / Math.max(1, Math.min(deg[s], deg[t])), bias = deg[s] / (deg[s] + deg[t]);
      vx[t] -= dx * f * bias; vy[t] -= dy * f * bias; vx[s] += dx * f * (1 - bias); vy[s] += dy * f * (1 - bias);
    }
    for (i = 0; i < N; i++) {
      vx[i] -= x[i] * 0.02 * L.alpha; vy[i] -= y[i] * 0.02 * L.alpha;
      if (fixed[i]) { vx[i] = vy[i] = 0; continue; }
      vx[i] *= 0.6; vy[i] *= 0.6; x[i] += vx[i]; y[i] += vy[i];
    }
    L.alpha += (0 - L.alpha) * 0.0228;
  }

  return L;
}
