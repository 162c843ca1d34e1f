// The interactive page (viz/html.py): steps through the engine's forward order, then its backward
// order, restyling the inlined Graphviz SVG. Plain DOM, no libraries; all data comes from the
// JSON block #bptt-data. URL fragment: #step=end | fwd | start | <position> | b<backward step>,
// &view=expanded | collapsed | <index>, &node=<DOT id or tensor name> (pinned), &params=fade, &play=1,
// &quiz (predict each gradient before it is shown; quiz=values also hides the values).
// The page opens fitted to the window.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("bptt-data").textContent);
  const T = D.tensors, FWD = D.forward, BWD = D.backward;
  const F = FWD.length, B = BWD.length, N = F + B;
  const $ = (id) => document.getElementById(id);
  const slider = $("slider"), caption = $("caption"), info = $("info"), stage = $("stage");
  const rootT = F ? T[FWD[F - 1]] : null;
  const rootName = rootT ? (rootT.name || "output") : "output";
  let pos = 0, cur = 0, timer = null, pinned = null, hovered = null, zoom = "fit";

  // ---- the views: DOM handles of every tagged node and edge -----------------------------------
  const views = D.views.map((v, k) => {
    const root = $("view-" + k), svg = root.querySelector("svg");
    const nodes = [], edges = [];
    root.querySelectorAll("g.node[data-node]").forEach((g) => {
      const n = v.nodes[g.dataset.node];
      if (n) nodes.push({ g, id: g.dataset.node, n });
    });
    root.querySelectorAll("g.edge[data-edge]").forEach((g) => {
      const e = v.edges[+g.dataset.edge];
      if (e) edges.push({ g, e, i: +g.dataset.edge });
    });
    return { v, root, svg, nodes, edges, w: +svg.dataset.width, h: +svg.dataset.height };
  });

  // ---- numbers and arrays ----------------------------------------------------------------------
  function num(x) {
    if (typeof x === "string") return x;
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
    return String(+x.toPrecision(3));
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of kids) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function arrayBlock(a, shape) {
    const box = el("div");
    if (a.rows) {
      if (!shape.length) { box.append(el("div", { class: "scalar" }, num(a.rows[0][0]))); return box; }
      const tb = el("table", { class: "arr" });
      for (const row of a.rows) tb.append(el("tr", {}, ...row.map((x) => el("td", {}, num(x)))));
      box.append(el("div", { class: "arrbox" }, tb));
      box.append(el("div", { class: "hint" }, "‖·‖ = " + num(a.norm)));
    } else {
      box.append(el("div", {}, `min ${num(a.min)}   max ${num(a.max)}   mean ${num(a.mean)}   ‖·‖ ${num(a.norm)}`));
      box.append(el("div", { class: "hint" }, "first entries: " + a.first.map(num).join(", ") + ", …"));
    }
    return box;
  }
  const shapeText = (s) => "(" + s.join(", ") + (s.length === 1 ? ",)" : ")");
  const label = (t) => t.name || t.optext || "tensor";
  const scopeText = (s) => (s.length ? s.join(" › ") : "(top level)");
  const dlabel = (t) => (t.name ? t.name : "(" + label(t) + ")");  // as in ∂loss/∂(· + ·)

  // ---- state ------------------------------------------------------------------------------------
  const fpos = () => Math.min(pos, F);          // forward steps done
  const bpos = () => Math.max(0, pos - F);      // backward steps done
  const computed = (i) => T[i].op === null || T[i].f <= fpos();  // leaves are given from the start
  const gradDone = (i) => T[i].b !== null && bpos() >= T[i].b;
  function current() {                           // the tensor of the step just taken, or -1
    if (pos === 0) return -1;
    return pos <= F ? FWD[pos - 1] : BWD[pos - F - 1];
  }

  function render() {
    const now = current();
    views.forEach((V) => { paint(V, now); quizPaint(V); });  // every view, so that switching keeps the step
    slider.value = String(pos);
    $("b-play").textContent = timer ? "❚❚" : "▶";
    renderCaption(now);
    renderInfo();
    quizRender();
    if (typeof zoom === "string") applyZoom();  // a caption of another length moves the stage's top edge
    if (!timer) {
      const q = quiz.on ? (quiz.values ? "&quiz=values" : "&quiz") : "";
      try { history.replaceState(null, "", "#step=" + pos + "&view=" + views[cur].v.key + q); } catch (err) { /* sandboxed */ }
    }
  }

  function paint(V, now) {
    const fp = fpos(), bp = bpos(), back = pos > F;
    for (const { g, n } of V.nodes) {
      const ts = n.tensors, done = ts.filter(computed).length;
      const cl = g.classList;
      cl.toggle("pending", done === 0);
      cl.toggle("cur", ts.includes(now));
      cl.toggle("back", back);
      if (n.group) g.style.opacity = done === 0 ? "" : String(0.35 + 0.65 * done / ts.length);
      let gc = null;
      if (n.b && bp >= n.b[0]) {
        if (n.group) gc = bp >= n.b[1] ? "#c62828" : "#ef9a9a";
        else if (T[ts[0]].grad) gc = T[ts[0]].gcolor;
      }
      cl.toggle("hasgrad", gc !== null);
      if (gc) g.style.setProperty("--gc", gc); else g.style.removeProperty("--gc");
    }
    for (const { g, e } of V.edges) {
      let state = "fwd";
      if (fp < e.f) state = "pending";
      else if (e.b !== null && bp >= e.b) state = e.norm === null ? "nograd" : "grad";
      const cl = g.classList;
      for (const s of ["pending", "fwd", "grad", "nograd"]) cl.toggle(s, s === state);
      g.dataset.state = state;
      if (state === "grad") {
        g.style.setProperty("--gc", e.color);
        g.style.setProperty("--gw", e.width + "px");
      } else {
        g.style.removeProperty("--gc");
        g.style.removeProperty("--gw");
      }
      cl.toggle("now", state === "grad" && e.b === bp && back);
    }
  }

  function renderCaption(now) {
    caption.textContent = "";
    const phase = (cls, text) => el("span", { class: "phase " + cls }, text);
    if (pos === 0) {
      caption.append(phase("idle", "start"), F
        ? "Inputs and parameters are given. Press ▶ or → to run the forward pass, one op at a time."
        : "Nothing in this graph requires grad: there is no pass to step through.");
      return;
    }
    const t = T[now];
    if (pos <= F) {
      caption.append(phase("fwd", `forward ${pos} / ${F}`), el("span", { class: "scope" }, scopeText(t.scope) + "   "));
      const what = t.op ? `${t.name ? t.name + " = " : ""}${t.optext} ${shapeText(t.shape)}`
        : `${label(t)} ${shapeText(t.shape)}: ${t.kind === "parameter" ? "a parameter" : "a leaf"}, read here`;
      caption.append(what);
      if (pos === F && B) caption.append(`   — forward done; next: the backward pass from ${rootName}`);
      else if (pos === F && !B) caption.append("   — forward done; backward has not run on this graph");
      return;
    }
    const j = pos - F;
    caption.append(phase("bwd", `backward ${j} / ${B}`), el("span", { class: "scope" }, scopeText(t.scope) + "   "));
    const g = quizHidesTensor(now) ? " (quiz: predict its size below)"
      : t.grad ? ` (norm ${num(t.grad.norm)})` : " (no gradient reached it)";
    caption.append(`∂${rootName}/∂${dlabel(t)} is complete${g}`);
    caption.append(t.op ? "; passed back along its incoming edges" : "; a leaf: stored in .grad");
    if (j === B) caption.append(`   — done: every tensor holds ∂${rootName}/∂tensor`);
  }

  // ---- the side panel --------------------------------------------------------------------------
  function tensorInfo(i) {
    const t = T[i], box = el("div");
    box.append(el("h2", {}, label(t), el("span", { class: "kind" }, t.kind)));
    const meta = el("table", { class: "meta" });
    const row = (k, v) => meta.append(el("tr", {}, el("td", {}, k), el("td", {}, v)));
    if (t.op) row("op", t.optext);
    if (t.op) row("inputs", t.parents.map((p) => (typeof p === "number" ? label(T[p]) : p)).join(", "));
    row("scope", scopeText(t.scope));
    row("shape", shapeText(t.shape) + "  " + t.dtype);
    row("forward", t.f ? `step ${t.f} of ${F}` : "given from the start");
    row("backward", t.b !== null ? `step ${t.b} of ${B}` : "—");
    box.append(meta);
    box.append(el("h3", {}, "value"));
    if (quiz.on && quiz.values) box.append(el("div", { class: "later" }, "hidden (quiz)"));
    else if (!t.value) box.append(el("div", { class: "later" }, "not kept: made inside lean()"));
    else box.append(computed(i) ? arrayBlock(t.value, t.shape) : el("div", { class: "later" }, `computed at forward step ${t.f}`));
    box.append(el("h3", {}, `gradient ∂${rootName}/∂${dlabel(t)}`));
    if (t.b === null) box.append(el("div", { class: "later" }, B ? "none: does not require grad" : "backward has not run"));
    else if (!gradDone(i)) box.append(el("div", { class: "later" }, `complete at backward step ${t.b}`));
    else if (quizHidesTensor(i)) box.append(el("div", { class: "later" }, "hidden (quiz): predict it first"));
    else if (!t.grad) box.append(el("div", { class: "later" }, "none reached it"));
    else box.append(arrayBlock(t.grad, t.shape));
    if (t.bystep && gradDone(i) && !quizHidesTensor(i)) box.append(byStepBlock(t));
    return box;
  }
  function groupInfo(n) {
    const ts = n.tensors, box = el("div");
    const done = ts.filter(computed).length, gdone = ts.filter(gradDone).length;
    box.append(el("h2", {}, n.group, el("span", { class: "kind" }, "collapsed scope")));
    box.append(el("div", {}, `${ts.length} ops; computed ${done} / ${ts.length}` + (B ? `; gradients complete ${gdone} / ${ts.length}` : "")));
    const named = ts.filter((i) => T[i].name);
    if (named.length) {
      box.append(el("h3", {}, "named tensors inside"));
      const ul = el("ul");
      for (const i of named) {
        const t = T[i];
        const g = gradDone(i) && t.grad && !quizHidesTensor(i) ? `, ‖grad‖ ${num(t.grad.norm)}` : "";
        ul.append(el("li", {}, `${t.name} ${shapeText(t.shape)}` + (computed(i) && t.value ? `, ‖value‖ ${num(t.value.norm)}` : "") + g));
      }
      box.append(ul);
    }
    box.append(el("div", { class: "hint" }, "Switch to the every-op view to see each op inside."));
    return box;
  }
  function edgeInfo(e) {
    const box = el("div"), t = e.tensor !== null ? T[e.tensor] : null;
    box.append(el("h2", {}, "edge", el("span", { class: "kind" }, "data forward, gradient back")));
    if (t) box.append(el("div", {}, `carries ${label(t)} ${shapeText(t.shape)} forward`));
    const bp = bpos();
    if (e.b === null) box.append(el("div", { class: "later" }, "no gradient flows back here"));
    else if (bp < e.b) box.append(el("div", { class: "later" }, `gradient flows back at backward step ${e.b}`));
    else if (quizHides(e.b)) box.append(el("div", { class: "later" }, "hidden (quiz): predict it first"));
    else box.append(el("div", {}, e.norm === null ? "no gradient flows back here" : `gradient flowing back: ‖·‖ = ${num(e.norm)}`));
    return box;
  }
  function renderInfo() {
    info.textContent = "";
    const V = views[cur], show = pinned || hovered;
    if (show && show.edge) info.append(edgeInfo(show.edge));
    else if (show && V.v.nodes[show.node]) {
      const n = V.v.nodes[show.node];
      info.append(n.group ? groupInfo(n) : tensorInfo(n.tensors[0]));
    } else if (current() >= 0) info.append(tensorInfo(current()));
    else info.append(el("div", { class: "hint" }, "Hover over a box to see its value and gradient; click to keep it here."));
    if (pinned) info.append(el("div", { class: "hint" }, "(pinned: click it again or press Esc to release)"));
    if (D.note) info.append(el("div", { id: "note" }, D.note));
  }

  function legend() {
    const L = $("legend"), s = D.scale;
    L.append(el("b", {}, "edge colour: ‖gradient flowing back‖"));
    const labels = ["≥ 1"].concat(s.decades.slice(1).map((d) => `1e${d} – ${d + 1 ? "1e" + (d + 1) : "1"}`),
      [`< 1e${s.decades[s.decades.length - 1]}`]);
    s.palette.forEach((c, k) => {
      const sw = el("span", { class: "sw" });
      sw.style.borderTop = `${s.widths[k]}px solid ${c}`;
      L.append(el("div", {}, sw, labels[k]));
    });
    const none = el("span", { class: "sw" });
    none.style.borderTop = `1px dashed ${s.none}`;
    L.append(el("div", {}, none, "no gradient"));
    L.append(el("div", { class: "hint" }, "Blue glow: the op being computed. Red glow: its gradient is now complete. " +
      "A box's outline takes the colour of its own ‖gradient‖."));
    $("keys").textContent = "Keys: ← → step (shift: 10) · space play/pause · Home/End · v switch view · p fade parameter edges · q quiz · + − 0 zoom/fit · Esc release";
  }

  // ---- a shared parameter's gradient, term by term (issue 19) ------------------------------------
  // t.bystep = [[step, ||dL/dW^(step)||], ...]: one bar per step on a log scale, then the sum = W.grad.
  function byStepBlock(t) {
    const rows = t.bystep, box = el("div", { class: "bystep" });
    const name = t.name || "W";
    box.append(el("h3", {}, `∂${rootName}/∂${name} = Σ_t ∂${rootName}/∂${name}^(t): one term per step`));
    const pos = rows.map((r) => r[1]).filter((v) => v > 0);
    if (!pos.length) { box.append(el("div", { class: "later" }, "every step's term is zero")); return box; }
    const hi = Math.log10(Math.max(...pos)), lo = Math.min(hi - 1, Math.log10(Math.min(...pos)));
    const W = 260, H = 90, bw = W / rows.length, ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H + 14}`);
    svg.setAttribute("class", "bystep-chart");
    rows.forEach(([step, v], k) => {
      const h = v > 0 ? Math.max(2, H * (Math.log10(v) - lo) / (hi - lo || 1)) : 0;
      const r = document.createElementNS(ns, "rect");
      for (const [a, b] of [["x", k * bw + 1], ["y", H - h], ["width", Math.max(1, bw - 2)], ["height", h],
        ["fill", "#d6b656"]]) r.setAttribute(a, b);
      const tip = document.createElementNS(ns, "title");
      tip.textContent = `${step === null ? "outside the steps" : "t=" + step}: ‖·‖ = ${num(v)}`;
      r.append(tip);
      svg.append(r);
      if (rows.length <= 12 || k % Math.ceil(rows.length / 12) === 0) {
        const lab = document.createElementNS(ns, "text");
        for (const [a, b] of [["x", k * bw + bw / 2], ["y", H + 11], ["text-anchor", "middle"], ["font-size", "8"]]) lab.setAttribute(a, b);
        lab.textContent = step === null ? "·" : String(step);
        svg.append(lab);
      }
    });
    box.append(svg);
    const total = rows.reduce((a, r) => a + r[1], 0);
    box.append(el("div", { class: "hint" }, `bars: ‖term‖ per step t (log scale, 1e${Math.floor(lo)} … 1e${Math.ceil(hi)}); ` +
      `the terms add up (as matrices) to ${name}.grad, ‖·‖ = ${num(t.grad.norm)} (Σ‖term‖ = ${num(total)})`));
    return box;
  }

  // ---- quiz mode: predict each gradient before the page shows it --------------------------------
  // On (#quiz, the quiz button or key q), the backward pass keeps every step's gradients hidden until
  // the student has predicted the size of the gradient that step completes, ‖∂loss/∂t‖, as one of the
  // colour scale's decades (or "none"); then the answer is revealed and scored. Steps passed over
  // without an answer are revealed unscored. #quiz=values hides the values in the side panel too.
  const quiz = { on: false, values: false, shown: new Set(), answers: new Map(), right: 0, total: 0 };
  function gradBin(norm) {  // as graph.grad_bin: 0 for ≥ 1, one bin per decade, the last below 1e-6
    if (norm === null || norm === undefined) return -1;  // no gradient reached the tensor
    const last = D.scale.palette.length - 1;
    if (typeof norm === "string") return 0;  // inf / nan
    if (norm <= 0) return last;
    const d = Math.floor(Math.log10(norm));
    const k = D.scale.decades.findIndex((lo) => d >= lo);
    return k < 0 ? last : k;
  }
  function binText(k) {
    const s = D.scale.decades;
    if (k < 0) return "no gradient";
    if (k === 0) return "≥ 1";
    if (k >= s.length) return `< 1e${s[s.length - 1]}`;
    return `1e${s[k]} – ${s[k] + 1 ? "1e" + (s[k] + 1) : "1"}`;
  }
  const quizHides = (j) => quiz.on && j !== null && j >= 1 && !quiz.shown.has(j);
  const quizHidesTensor = (i) => i >= 0 && quizHides(T[i].b);
  function quizAnswer(i) { return gradBin(T[i].grad ? T[i].grad.norm : null); }
  function quizPaint(V) {  // runs after paint(): takes the colour off what is not revealed yet
    if (!quiz.on) { V.root.querySelectorAll(".quizhide").forEach((g) => g.classList.remove("quizhide")); return; }
    const bp = bpos();
    for (const { g, n } of V.nodes) {
      let hide = false;
      if (n.b && bp >= n.b[0]) for (let j = n.b[0]; j <= Math.min(n.b[1], bp); j++) hide = hide || quizHides(j);
      g.classList.toggle("quizhide", hide);
      if (hide) { g.classList.remove("hasgrad"); g.style.removeProperty("--gc"); }
    }
    for (const { g, e } of V.edges) {
      const hide = e.b !== null && bp >= e.b && quizHides(e.b);
      g.classList.toggle("quizhide", hide);
      if (!hide) continue;
      for (const s of ["grad", "nograd"]) g.classList.remove(s);
      g.classList.toggle("now", e.b === bp);
      g.dataset.state = "hidden";
      g.style.removeProperty("--gc");
      g.style.removeProperty("--gw");
    }
  }
  function quizMoved() {  // steps passed over are revealed unscored; playing stops at a question
    if (!quiz.on) return;
    for (let j = 1; j < bpos(); j++) quiz.shown.add(j);
    if (timer && quizHides(bpos())) stop();
  }
  function quizPick(k) {
    const j = bpos(), i = current();
    if (!quiz.on || j < 1 || quiz.shown.has(j)) return;
    quiz.answers.set(j, k);
    quiz.shown.add(j);
    quiz.total += 1;
    if (k === quizAnswer(i)) quiz.right += 1;
    render();
  }
  function quizRender() {
    const box = $("quiz"), j = bpos(), i = current();
    $("b-quiz").classList.toggle("on", quiz.on);
    box.hidden = !quiz.on;
    if (!quiz.on) return;
    box.textContent = "";
    box.append(el("span", { class: "qscore", id: "quiz-score" }, `score ${quiz.right} / ${quiz.total}`));
    if (j < 1) {
      box.append(el("span", {}, "Quiz: run the forward pass; in the backward pass you predict each gradient's size before it is shown."));
      return;
    }
    const t = T[i], what = `‖∂${rootName}/∂${dlabel(t)}‖`;
    if (quizHides(j)) {
      box.append(el("span", { class: "qask" }, `Predict ${what}:`));
      const opts = D.scale.palette.map((c, k) => [k, c]).concat([[-1, D.scale.none]]);
      for (const [k, c] of opts) {
        const b = el("button", { class: "qopt", "data-bin": String(k) }, binText(k));
        b.style.borderBottom = `4px solid ${c}`;
        b.onclick = () => { quizPick(k); b.blur(); };
        box.append(b);
      }
      return;
    }
    const right = quizAnswer(i), said = quiz.answers.get(j);
    const size = t.grad ? ` (‖·‖ = ${num(t.grad.norm)})` : "";
    if (said === undefined) box.append(el("span", { class: "qres" }, `${what}: ${binText(right)}${size}; not answered`));
    else if (said === right) box.append(el("span", { class: "qres right" }, `✓ right: ${what} is ${binText(right)}${size}`));
    else box.append(el("span", { class: "qres wrong" }, `✗ ${what} is ${binText(right)}${size}; you said ${binText(said)}`));
  }
  function quizToggle(values) {
    quiz.on = !quiz.on;
    quiz.values = quiz.on && values;
    if (quiz.on) for (let j = 1; j < bpos(); j++) quiz.shown.add(j);  // what was seen before stays seen
    render();
  }
  function quizSetup(on, values) {
    $("b-quiz").onclick = () => quizToggle(false);
    if (!on) return;
    quiz.on = true;
    quiz.values = values;
    for (let j = 1; j < bpos(); j++) quiz.shown.add(j);  // opened mid-backward: the question is the step shown
  }

  // ---- controls -------------------------------------------------------------------------------
  function go(p) { pos = Math.max(0, Math.min(N, p)); quizMoved(); render(); follow(); }
  function follow() {
    const now = current();
    if (now < 0) return;
    const hit = views[cur].nodes.find((x) => x.n.tensors.includes(now));
    if (!hit) return;
    const r = hit.g.getBoundingClientRect(), s = stage.getBoundingClientRect();
    if (r.left < s.left || r.right > s.right || r.top < s.top || r.bottom > s.bottom) {
      hit.g.scrollIntoView({ block: "center", inline: "center", behavior: timer ? "smooth" : "auto" });
    }
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; } }
  function play() {
    if (timer) { stop(); render(); return; }
    if (pos >= N) pos = 0;
    timer = setInterval(() => {
      if (pos >= N) { stop(); render(); return; }
      go(pos + 1);
    }, +$("speed").value);
    render();
  }
  function setView(k) {
    cur = k;
    views.forEach((V, j) => { V.root.hidden = j !== k; });
    document.querySelectorAll("#viewbtns button").forEach((b, j) => b.classList.toggle("on", j === k));
    hovered = null; pinned = null;
    render();
  }
  // zoom: "auto" keeps labels readable (the stage scrolls and follows the step), "fit" shows it all
  function applyZoom() {
    const V = views[cur];
    if (!V.w) return;
    const pw = V.w * 4 / 3, ph = V.h * 4 / 3;  // Graphviz sizes are in points
    const fit = Math.min(1.5, (stage.clientWidth - 16) / pw, (stage.clientHeight - 16) / ph);
    const z = zoom === "fit" ? fit : zoom === "auto" ? Math.max(fit, 0.75) : zoom;
    V.svg.style.width = pw * z + "px";
    V.svg.style.height = ph * z + "px";
    $("z-fit").classList.toggle("on", zoom === "fit");
  }
  function zoomBy(f) {
    const V = views[cur];
    const z = parseFloat(V.svg.style.width) / (V.w * 4 / 3);
    zoom = Math.max(0.1, Math.min(6, z * f));
    applyZoom();
    follow();
  }

  slider.max = String(N);
  slider.addEventListener("input", () => { stop(); go(+slider.value); });
  $("ph-fwd").style.flex = String(Math.max(F, 1));
  $("ph-bwd").style.flex = String(B);
  if (!B) $("ph-bwd").style.display = "none";
  $("b-start").onclick = () => { stop(); go(0); };
  $("b-prev").onclick = () => { stop(); go(pos - 1); };
  $("b-next").onclick = () => { stop(); go(pos + 1); };
  $("b-end").onclick = () => { stop(); go(N); };
  $("b-play").onclick = play;
  $("speed").onchange = () => { if (timer) { stop(); play(); } };
  function fadeParams() {
    document.body.classList.toggle("fade-params");
    $("b-params").classList.toggle("on", document.body.classList.contains("fade-params"));
  }
  $("b-params").onclick = fadeParams;
  $("z-in").onclick = () => zoomBy(1.25);
  $("z-out").onclick = () => zoomBy(0.8);
  $("z-fit").onclick = () => { zoom = zoom === "fit" ? "auto" : "fit"; applyZoom(); follow(); };
  views.forEach((V, k) => {
    const b = el("button", { title: "view: " + V.v.title }, V.v.title);
    b.onclick = () => setView(k);
    $("viewbtns").append(b);
    for (const x of V.nodes) {
      x.g.addEventListener("mouseenter", () => { hovered = { node: x.id }; renderInfo(); });
      x.g.addEventListener("mouseleave", () => { hovered = null; renderInfo(); });
      x.g.addEventListener("click", (ev) => {
        ev.stopPropagation();
        pinned = pinned && pinned.node === x.id ? null : { node: x.id };
        V.nodes.forEach((y) => y.g.classList.toggle("sel", !!pinned && y.id === pinned.node));
        renderInfo();
      });
    }
    for (const x of V.edges) {
      if (x.e.param) x.g.classList.add("param");
      x.g.addEventListener("mouseenter", () => { hovered = { edge: x.e }; renderInfo(); });
      x.g.addEventListener("mouseleave", () => { hovered = null; renderInfo(); });
    }
  });
  if (views.length < 2) $("viewbtns").style.display = "none";
  // a clicked button keeps no focus: space and arrows then always drive the stepping
  document.querySelectorAll("#controls button").forEach((b) => b.addEventListener("click", () => b.blur()));
  stage.addEventListener("click", () => {
    pinned = null;
    views[cur].nodes.forEach((y) => y.g.classList.remove("sel"));
    renderInfo();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target && ev.target.tagName === "SELECT") return;
    const k = ev.key, big = ev.shiftKey ? 10 : 1;
    if (k === "ArrowRight" || k === "ArrowDown") { stop(); go(pos + big); }
    else if (k === "ArrowLeft" || k === "ArrowUp") { stop(); go(pos - big); }
    else if (k === " ") play();
    else if (k === "Home") { stop(); go(0); }
    else if (k === "End") { stop(); go(N); }
    else if (k === "v") setView((cur + 1) % views.length);
    else if (k === "p") fadeParams();
    else if (k === "q") quizToggle(false);
    else if (k === "+" || k === "=") zoomBy(1.25);
    else if (k === "-") zoomBy(0.8);
    else if (k === "0") { zoom = zoom === "fit" ? "auto" : "fit"; applyZoom(); follow(); }
    else if (k === "Escape") { pinned = null; renderInfo(); }
    else return;
    ev.preventDefault();
  });
  window.addEventListener("resize", () => { if (typeof zoom === "string") applyZoom(); });

  // ---- start: honour the URL fragment (or query) ----------------------------------------------
  const params = new URLSearchParams((location.hash || "").replace(/^#/, "") || window.TG_PAGE_FRAGMENT ||
    location.search.replace(/^\?/, ""));
  const want = params.get("view");
  let k0 = 0;
  if (want !== null) {
    const byKey = D.views.findIndex((v) => v.key === want);
    k0 = byKey >= 0 ? byKey : Math.max(0, Math.min(views.length - 1, parseInt(want, 10) || 0));
  }
  const step = params.get("step");
  if (step === "end") pos = N;
  else if (step === "fwd") pos = F;
  else if (step && step[0] === "b") pos = F + (parseInt(step.slice(1), 10) || 0);
  else if (step && step[0] === "f") pos = parseInt(step.slice(1), 10) || 0;
  else if (step) pos = parseInt(step, 10) || 0;
  pos = Math.max(0, Math.min(N, pos));
  legend();
  quizSetup(params.has("quiz"), params.get("quiz") === "values");
  setView(k0);
  if (params.get("params") === "fade") fadeParams();
  const wantNode = params.get("node");  // a DOT node id, or a tensor's name: pinned in the panel
  if (wantNode) {
    const V = views[cur];
    const hit = V.nodes.find((x) => x.id === wantNode) ||
      V.nodes.find((x) => x.n.tensors.length === 1 && T[x.n.tensors[0]].name === wantNode);
    if (hit) { pinned = { node: hit.id }; hit.g.classList.add("sel"); renderInfo(); }
  }
  follow();
  if (params.get("play") === "1") play();
})();
