// yanex web UI: builds each page from the JSON API. Every value from the store is put in
// the page as text (textContent, text nodes, attribute values), never parsed as HTML.
"use strict";
(() => {
  const TOKEN = document.querySelector('meta[name="yanex-token"]').content;
  const root = document.getElementById("app");
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const STATUSES = ["created", "running", "completed", "failed", "cancelled", "staged"];
  const LIVE = new Set(["running", "created"]);
  window.yanexCharts = {};
  const seriesData = {};  // metric -> the arrays its chart draws (filled in before it exists)

  // --- small helpers -----------------------------------------------------------------

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : String(kid));
    }
    return node;
  }

  function svg(tag, attrs, ...kids) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const kid of kids) node.append(kid);
    return node;
  }

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }

  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Yanex-Token": TOKEN },
      body: JSON.stringify(body || {}),
    });
    const out = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(out.error || res.statusText);
    return out;
  }

  const pad = (n) => String(n).padStart(2, "0");

  function when(stamp) {
    if (!stamp) return "-";
    const t = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(stamp) ? stamp : stamp + "Z");
    if (isNaN(t)) return stamp;
    return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ` +
      `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  }

  function duration(seconds, running) {
    if (seconds === null || seconds === undefined) return "-";
    const mark = running ? "+" : "";
    if (seconds < 60) return `${seconds.toFixed(1)}s${mark}`;
    const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    if (m < 60) return `${m}m ${pad(s)}s${mark}`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${pad(m % 60)}m${mark}`;
    return `${Math.floor(h / 24)}d ${pad(h % 24)}h${mark}`;
  }

  function since(stamp) {
    if (!stamp) return null;
    const t = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(stamp) ? stamp : stamp + "Z");
    return Math.max(0, (Date.now() - t.getTime()) / 1000);
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1048576).toFixed(1)} MB`;
  }

  function show(value) {
    if (value === null || value === undefined) return "-";
    if (typeof value === "object") return JSON.stringify(value);
    if (typeof value === "number" && !Number.isInteger(value)) return String(+value.toPrecision(6));
    return String(value);
  }

  function flatten(obj, prefix = "", out = {}) {
    for (const [key, value] of Object.entries(obj || {})) {
      if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
        flatten(value, `${prefix}${key}.`, out);
      } else out[`${prefix}${key}`] = value;
    }
    return out;
  }

  // replaceChildren and append would show a null as the text "null"
  const put = (...kids) => root.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
  const badge = (status) => el("span", { class: `status status-${status}`, text: status });
  const card = (title, ...kids) => el("section", { class: "card" }, el("h2", { text: title }), ...kids);
  const kvTable = (pairs) => el("table", { class: "kv" },
    el("tbody", {}, pairs.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: show(v) })))));
  const errorLine = (text) => el("p", { class: "error", role: "alert", text });

  function modal(title, message, fields, okLabel, danger) {
    return new Promise((resolve) => {
      const inputs = fields.map((f) => el("input", { name: f.name, value: f.value || "", "aria-label": f.label }));
      const form = el("form", { method: "dialog" },
        el("h3", { text: title }), message ? el("p", { text: message }) : null,
        fields.map((f, i) => el("label", {}, f.label, inputs[i])),
        el("menu", {},
          el("button", { value: "cancel", type: "submit", class: "secondary", text: "Cancel" }),
          el("button", { value: "ok", type: "submit", class: danger ? "danger" : "", text: okLabel })));
      const dlg = el("dialog", { class: "modal" }, form);
      dlg.addEventListener("close", () => {
        const ok = dlg.returnValue === "ok";
        dlg.remove();
        resolve(ok ? Object.fromEntries(inputs.map((i) => [i.name, i.value])) : null);
      });
      document.body.append(dlg);
      dlg.showModal();
      (inputs[0] || form.querySelector("button.secondary")).focus();
    });
  }

  // --- charts ------------------------------------------------------------------------

  function chartWidth(box) {
    return Math.max(320, Math.min(900, (box.clientWidth || 860) - 8));
  }

  function makeChart(box, name, data, labels, logScale) {
    box.replaceChildren();
    const series = [{ label: "step" }].concat(labels.map((label, i) => ({
      label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true,
      points: { show: data[0].length <= 60 },
    })));
    const shown = logScale ? [data[0], ...data.slice(1).map((ys) => ys.map((v) => (v > 0 ? v : null)))] : data;
    const opts = {
      width: chartWidth(box), height: 240, series,
      scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
      axes: [{ label: "step" }, {}],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    const chart = new uPlot(opts, shown, box);
    chart.yanexLog = logScale;
    window.yanexCharts[name] = chart;
    return chart;
  }

  function chartCard(name, data, labels) {
    const box = el("div", { class: "chart", "data-metric": name });
    const logBox = el("input", { type: "checkbox", "aria-label": `log scale ${name}` });
    const wrap = el("div", { class: "chart-card" },
      el("div", { class: "chart-head" }, el("h3", { text: name }),
        el("label", { class: "small" }, logBox, " log scale"),
        el("button", { class: "link small", text: "reset zoom", onclick: () => {
          const c = window.yanexCharts[name];
          c.setScale("x", { min: c.data[0][0], max: c.data[0][c.data[0].length - 1] });
        } })),
      box);
    seriesData[name] = data;
    logBox.addEventListener("change", () => {
      window.yanexCharts[name].destroy();
      makeChart(box, name, seriesData[name], labels, logBox.checked);
    });
    requestAnimationFrame(() => makeChart(box, name, seriesData[name], labels, false));
    return wrap;
  }

  function appendPoints(name, steps, values) {
    const raw = seriesData[name];
    if (!raw) return false;
    raw[0].push(...steps);
    raw[1].push(...values);
    const chart = window.yanexCharts[name];  // not drawn yet: it will draw these points too
    if (chart) chart.setData(chart.yanexLog ? [raw[0], raw[1].map((v) => (v > 0 ? v : null))] : raw);
    return true;
  }

  // --- the experiments table -----------------------------------------------------------

  const COLUMNS = [["id", "ID"], ["name", "Name"], ["status", "Status"], ["project", "Project"],
    ["tags", "Tags"], ["created", "Created"], ["duration", "Duration"]];

  async function tablePage() {
    const config = await getJSON("/api/config");
    const params = new URLSearchParams(location.search);
    if (!params.has("project") && config.project) params.set("project", config.project);
    const state = { params, timer: null, events: null, selected: new Set() };
    const field = (name, label, attrs) => {
      const input = el("input", Object.assign({ name, "aria-label": label, placeholder: label,
        value: params.get(name) || "" }, attrs || {}));
      input.addEventListener("input", () => { clearTimeout(state.timer); state.timer = setTimeout(() => setParam(name, input.value), 300); });
      return input;
    };
    const status = el("select", { name: "status", "aria-label": "status" },
      el("option", { value: "", text: "any status" }), STATUSES.map((s) => el("option", { value: s, text: s })));
    status.value = params.get("status") || "";
    status.addEventListener("change", () => setParam("status", status.value));
    const archived = el("select", { name: "archived", "aria-label": "archived" },
      el("option", { value: "", text: "active" }), el("option", { value: "1", text: "active + archived" }),
      el("option", { value: "only", text: "archived only" }));
    archived.value = params.get("archived") || "";
    archived.addEventListener("change", () => setParam("archived", archived.value));
    const filters = el("div", { class: "filters" },
      field("q", "search"), status, field("tag", "tag"), field("name", "name glob"),
      field("project", "project (empty: all)"), field("started_after", "started after"),
      field("started_before", "started before"), field("sweep", "sweep id"), archived);
    const message = el("div", { class: "message" });
    const thead = el("thead");
    const tbody = el("tbody");
    const pager = el("div", { class: "pager" });
    const compareSel = el("button", { text: "Compare selected", disabled: true, onclick: () => {
      location.href = `/compare?ids=${[...state.selected].join(",")}`;
    } });
    const compareAll = el("button", { class: "secondary", text: "Compare these", onclick: () => {
      const p = new URLSearchParams(state.params); p.delete("page");
      location.href = `/compare?${p}`;
    } });
    root.replaceChildren(el("h1", { text: "Experiments" }), filters,
      el("div", { class: "toolbar" }, compareSel, compareAll), message,
      el("table", { class: "grid", id: "experiments" }, thead, tbody), pager);

    function setParam(name, value) {
      if (value) state.params.set(name, value); else if (name === "project") state.params.set(name, ""); else state.params.delete(name);
      if (name !== "page") state.params.delete("page");
      load();
    }

    function header() {
      const sort = state.params.get("sort") || "created";
      const order = state.params.get("order") || "desc";
      thead.replaceChildren(el("tr", {}, el("th", {}),
        COLUMNS.map(([key, label]) => el("th", {
          class: "sortable", "data-sort": key, "aria-sort": key === sort ? (order === "asc" ? "ascending" : "descending") : null,
          onclick: () => {
            const next = key === sort && order === "desc" ? "asc" : "desc";
            state.params.set("sort", key); state.params.set("order", next); load();
          },
        }, label, key === sort ? (order === "asc" ? " ▲" : " ▼") : ""))));
    }

    function row(r) {
      const check = el("input", { type: "checkbox", "aria-label": `select ${r.id}`, checked: state.selected.has(r.id) });
      check.addEventListener("click", (ev) => ev.stopPropagation());
      check.addEventListener("change", () => {
        if (check.checked) state.selected.add(r.id); else state.selected.delete(r.id);
        compareSel.disabled = state.selected.size < 1;
      });
      const live = LIVE.has(r.status);
      return el("tr", { "data-id": r.id, class: "clickable", onclick: () => { location.href = `/experiments/${r.id}`; } },
        el("td", {}, check),
        el("td", { class: "mono" }, el("a", { href: `/experiments/${r.id}`, text: r.id })),
        el("td", { class: "name", text: r.name || "(unnamed)" }),
        el("td", {}, badge(r.status)),
        el("td", { text: r.project || "-" }),
        el("td", {}, r.tags.map((t) => el("span", { class: "tag", text: t }))),
        el("td", { text: when(r.created_at) }),
        el("td", { class: "duration", "data-started": live ? r.started_at || "" : null,
          text: live ? duration(since(r.started_at), true) : duration(r.duration, false) }));
    }

    function watch(rows) {
      if (state.events) state.events.close();
      const ids = rows.filter((r) => LIVE.has(r.status)).map((r) => r.id);
      if (!ids.length) return;
      state.events = new EventSource(`/api/events/status?ids=${ids.join(",")}`);
      state.events.addEventListener("row", (ev) => {
        const r = JSON.parse(ev.data);
        const tr = tbody.querySelector(`tr[data-id="${r.id}"]`);
        if (tr && r.created_at) tr.replaceWith(row(r));
      });
      state.events.addEventListener("end", () => state.events.close());
    }

    async function load() {
      history.replaceState(null, "", `/?${state.params}`);
      header();
      try {
        const data = await getJSON(`/api/experiments?${state.params}`);
        message.replaceChildren(...data.problems.map((p) => el("p", { class: "warn", text: `skipped ${p.id}: ${p.message}` })));
        tbody.replaceChildren(...data.rows.map(row));
        if (!data.rows.length) tbody.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No experiments match." })));
        const pages = Math.max(1, Math.ceil(data.total / data.per_page));
        pager.replaceChildren(
          el("button", { class: "secondary", text: "◀ Prev", disabled: data.page <= 1, onclick: () => setParam("page", String(data.page - 1)) }),
          el("span", { class: "count", text: `page ${data.page} of ${pages} · ${data.total} experiments` }),
          el("button", { class: "secondary", text: "Next ▶", disabled: data.page >= pages, onclick: () => setParam("page", String(data.page + 1)) }));
        watch(data.rows);
      } catch (err) {
        tbody.replaceChildren();
        message.replaceChildren(errorLine(err.message));
      }
    }

    setInterval(() => {
      for (const td of tbody.querySelectorAll("td.duration[data-started]")) {
        td.textContent = duration(since(td.dataset.started), true);
      }
    }, 1000);
    await load();
  }

  // --- the experiment page -------------------------------------------------------------

  async function experimentPage() {
    const ref = decodeURIComponent(location.pathname.split("/")[2] || "");
    let exp;
    try {
      exp = await getJSON(`/api/experiments/${encodeURIComponent(ref)}`);
    } catch (err) {
      root.replaceChildren(errorLine(err.message));
      return;
    }
    const id = exp.id, meta = exp.metadata;
    document.title = `${meta.name || id} · yanex`;
    const statusBox = el("span", { id: "status" }, badge(exp.status));
    const charts = el("div", { class: "charts", id: "charts" }, el("p", { class: "muted", text: "Loading metrics…" }));
    const logs = { stdout: el("pre", { class: "log", id: "stdout" }), stderr: el("pre", { class: "log", id: "stderr" }) };
    const liveNote = el("span", { class: "muted small", id: "live" });
    put(
      el("h1", {}, el("span", { class: "name", text: meta.name || "(unnamed)" }), " ",
        el("span", { class: "mono muted", text: id }), " ", statusBox,
        exp.archived ? el("span", { class: "tag", text: "archived" }) : null, " ", liveNote),
      meta.description ? el("p", { class: "description", text: meta.description }) : null,
      el("p", {}, (meta.tags || []).map((t) => el("span", { class: "tag", text: t }))),
      actions(exp),
      card("Overview", kvTable([["script", meta.script_path], ["args", (meta.script_args || []).join(" ")],
        ["project", meta.project], ["created", when(meta.created_at)], ["started", when(meta.started_at)],
        ["ended", when(meta.completed_at)], ["duration", duration(meta.duration, false)],
        ["exit code", meta.exit_code], ["error", meta.error_message], ["host", meta.host]])),
      card("Metrics", charts),
      card("Parameters", kvTable(Object.entries(flatten(exp.params)))),
      card("Output", el("h3", { text: "stdout" }), logs.stdout, el("h3", { text: "stderr" }), logs.stderr),
      card("Artifacts", artifactList(id, exp.artifacts)),
      card("Git", gitView(exp.git)),
      card("Dependencies", el("div", { id: "lineage" }, el("p", { class: "muted", text: "Loading…" }))),
      card("Environment", kvTable(Object.entries(flatten(exp.environment)))),
      card("Metadata", kvTable(Object.entries(meta).filter(([k]) => !["environment", "cli_args"].includes(k)))));
    const [metrics, stdout, stderr] = await Promise.all([
      getJSON(`/api/experiments/${id}/metrics`),
      log(id, "stdout"), log(id, "stderr")]);
    logs.stdout.textContent = stdout.text; logs.stderr.textContent = stderr.text;
    const names = Object.keys(metrics.metrics);
    charts.replaceChildren(...(names.length ? names.map((n) => chartCard(n,
      [metrics.metrics[n].steps, metrics.metrics[n].values], [n])) : [el("p", { class: "muted", text: "No metrics logged." })]));
    getJSON(`/api/experiments/${id}/lineage`).then(drawLineage).catch((err) =>
      document.getElementById("lineage").replaceChildren(errorLine(err.message)));
    if (exp.running) follow(id, metrics.count, { stdout: stdout.offset, stderr: stderr.offset }, charts, logs, statusBox, liveNote);
  }

  function log(id, stream) {  // a log the server refuses (a link out of the store) says why
    return getJSON(`/api/experiments/${id}/log/${stream}`).catch((err) => ({ text: `(${err.message})`, offset: 0 }));
  }

  function follow(id, count, offsets, charts, logs, statusBox, liveNote) {
    liveNote.textContent = "● live";
    const es = new EventSource(`/api/experiments/${id}/events?count=${count}&stdout=${offsets.stdout}&stderr=${offsets.stderr}`);
    es.addEventListener("metrics", (ev) => {
      const data = JSON.parse(ev.data);
      if (!Object.keys(seriesData).length) charts.replaceChildren();
      for (const [name, [steps, values]] of Object.entries(data.metrics)) {
        if (!appendPoints(name, steps, values)) charts.append(chartCard(name, [steps, values], [name]));
      }
    });
    es.addEventListener("log", (ev) => {
      const data = JSON.parse(ev.data);
      const pre = logs[data.stream];
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(document.createTextNode(data.text));
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener("status", (ev) => statusBox.replaceChildren(badge(JSON.parse(ev.data).status)));
    es.addEventListener("end", () => { es.close(); liveNote.textContent = "finished"; });
  }

  function actions(exp) {
    const id = exp.id, meta = exp.metadata;
    const message = el("span", { class: "message" });
    const act = async (fn) => {
      try { await fn(); location.reload(); } catch (err) { message.replaceChildren(errorLine(err.message)); }
    };
    const ask = async (title, label, key, value) => {
      const got = await modal(title, null, [{ name: key, label, value }], "Save");
      if (got) act(() => post(`/api/experiments/${id}/update`, { [key]: got[key] }));
    };
    const tagButtons = (meta.tags || []).map((t) => el("button", { class: "secondary small", "data-remove-tag": t,
      onclick: () => act(() => post(`/api/experiments/${id}/update`, { remove_tags: [t] })) }, "✕ ", t));
    return el("div", { class: "toolbar actions" },
      el("button", { class: "secondary", text: "Rename", onclick: () => ask("Rename", "name", "name", meta.name) }),
      el("button", { class: "secondary", text: "Describe", onclick: () => ask("Description", "description", "description", meta.description) }),
      el("button", { class: "secondary", text: "Add tag", onclick: async () => {
        const got = await modal("Add tag", null, [{ name: "tag", label: "tag" }], "Add");
        if (got && got.tag.trim()) act(() => post(`/api/experiments/${id}/update`, { add_tags: [got.tag.trim()] }));
      } }),
      tagButtons,
      el("button", { class: "secondary", text: exp.archived ? "Unarchive" : "Archive",
        onclick: () => act(() => post(`/api/experiments/${id}/${exp.archived ? "unarchive" : "archive"}`)) }),
      el("button", { class: "danger", id: "delete", text: "Delete", onclick: async () => {
        const ok = await modal("Delete experiment?",
          `Delete ${meta.name || "(unnamed)"} (${id}) and all its files for good? This cannot be undone.`, [], "Delete", true);
        if (!ok) return;
        try { await post(`/api/experiments/${id}/delete`, { confirm: id }); location.href = "/"; } catch (err) { message.replaceChildren(errorLine(err.message)); }
      } }),
      message);
  }

  function artifactList(id, items) {
    if (!items.length) return el("p", { class: "muted", text: "No artifacts." });
    const panel = el("div", { class: "preview", id: "preview" });
    const rows = items.map((a) => el("tr", {},
      el("td", { class: "mono", text: a.name }), el("td", { text: size(a.size) }), el("td", { text: a.kind }),
      el("td", {}, el("button", { class: "link", text: "preview", onclick: () => preview(id, a, panel) }), " ",
        el("a", { href: `/files/${id}/${a.name.split("/").map(encodeURIComponent).join("/")}`, download: a.name.split("/").pop(), text: "download" }))));
    return el("div", {}, el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["name", "size", "kind", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)), panel);
  }

  async function preview(id, item, panel) {
    panel.replaceChildren(el("h3", { text: item.name }));
    const path = item.name.split("/").map(encodeURIComponent).join("/");
    if (item.kind === "image") {
      panel.append(el("img", { src: `/files/${id}/${path}?inline=1`, alt: item.name }));
      return;
    }
    if (item.kind === "binary") { panel.append(el("p", { class: "muted", text: "No preview for this kind of file." })); return; }
    try {
      const data = await getJSON(`/api/experiments/${id}/preview?name=${encodeURIComponent(item.name)}`);
      if (data.kind === "csv") {
        const [head, ...body] = data.rows;
        panel.append(el("table", { class: "grid csv" },
          el("thead", {}, el("tr", {}, (head || []).map((h) => el("th", { text: h })))),
          el("tbody", {}, body.map((r) => el("tr", {}, r.map((c) => el("td", { text: c })))))));
      } else panel.append(el("pre", { class: "log", text: data.text }));
      if (data.truncated) panel.append(el("p", { class: "muted", text: "(only the beginning is shown)" }));
    } catch (err) { panel.append(errorLine(err.message)); }
  }

  function gitView(git) {
    const facts = kvTable([["commit", git.commit], ["branch", git.branch], ["uncommitted changes", git.dirty ? "yes" : "no"]]);
    if (!git.patch) return el("div", {}, facts);
    const lines = git.patch.split("\n").map((line) => {
      let cls = "";
      if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) cls = "file";
      else if (line.startsWith("@@")) cls = "hunk";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      return el("span", { class: cls, text: line + "\n" });
    });
    return el("div", {}, facts, el("h3", { text: "Uncommitted changes" }), el("pre", { class: "diff" }, lines),
      git.patch_truncated ? el("p", { class: "muted", text: "(patch cut at 1 MB)" }) : null);
  }

  function drawLineage(graph) {
    const box = document.getElementById("lineage");
    if (graph.nodes.length <= 1) { box.replaceChildren(el("p", { class: "muted", text: "No dependencies, and nothing depends on it." })); return; }
    const level = {};
    const parents = {};
    for (const e of graph.edges) (parents[e.to] = parents[e.to] || []).push(e.from);
    const depth = (n, seen = new Set()) => {
      if (level[n] !== undefined) return level[n];
      if (seen.has(n)) return 0;
      seen.add(n);
      level[n] = (parents[n] || []).reduce((m, p) => Math.max(m, depth(p, seen) + 1), 0);
      return level[n];
    };
    const columns = {};
    for (const n of graph.nodes) (columns[depth(n.id)] = columns[depth(n.id)] || []).push(n);
    const W = 190, H = 46, GX = 70, GY = 18, pos = {};
    let maxRows = 0;
    for (const [col, nodes] of Object.entries(columns)) {
      nodes.forEach((n, i) => { pos[n.id] = { x: 10 + col * (W + GX), y: 10 + i * (H + GY) }; });
      maxRows = Math.max(maxRows, nodes.length);
    }
    const cols = Object.keys(columns).length;
    const canvas = svg("svg", { width: cols * (W + GX), height: maxRows * (H + GY) + 20, class: "lineage" },
      svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }))));
    for (const e of graph.edges) {
      const a = pos[e.from], b = pos[e.to];
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      canvas.append(svg("path", { d: `M${x1},${y1} C${x1 + 35},${y1} ${x2 - 35},${y2} ${x2},${y2}`, class: "edge", "marker-end": "url(#arrow)" }),
        svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, class: "slot", "text-anchor": "middle", text: e.slot }));
    }
    for (const n of graph.nodes) {
      const p = pos[n.id];
      const cls = `node status-${n.status}${n.id === graph.target ? " target" : ""}`;
      const g = svg("g", { class: cls, transform: `translate(${p.x},${p.y})`, "data-id": n.id,
        onclick: () => { if (!n.missing) location.href = `/experiments/${n.id}`; } },
        svg("rect", { width: W, height: H, rx: 6 }),
        svg("text", { x: 8, y: 18, class: "label", text: (n.name || "(unnamed)").slice(0, 26) }),
        svg("text", { x: 8, y: 36, class: "sub", text: `${n.id} · ${n.status}` }));
      canvas.append(g);
    }
    box.replaceChildren(canvas);
  }

  // --- the compare page ----------------------------------------------------------------

  async function comparePage() {
    const qs = location.search.slice(1);
    root.replaceChildren(el("h1", { text: "Compare" }));
    if (!qs) {
      root.append(el("p", { class: "muted", text: "Pick experiments in the table (tick them, then “Compare selected”), or use “Compare these” to compare what a filter selects." }));
      return;
    }
    let data;
    try { data = await getJSON(`/api/compare?${qs}`); } catch (err) { root.append(errorLine(err.message)); return; }
    if (!data.runs.length) { root.append(el("p", { class: "muted", text: "No experiments to compare." })); return; }
    const label = (r) => `${r.name || "(unnamed)"} ${r.id}`;
    const metric = el("select", { "aria-label": "best by metric" }, data.metrics.map((m) => el("option", { value: m, text: m })));
    const direction = el("select", { "aria-label": "best direction" }, el("option", { value: "min", text: "lowest" }), el("option", { value: "max", text: "highest" }));
    const bestLine = el("span", { id: "best" });
    const head = el("tr", {}, el("th", { text: "" }), data.runs.map((r, i) =>
      el("th", { "data-id": r.id }, el("span", { class: "swatch", style: `background:${PALETTE[i % PALETTE.length]}` }),
        el("a", { href: `/experiments/${r.id}`, text: label(r) }))));
    const differing = new Set(data.differing);
    const paramRows = data.params.map((p) => el("tr", { class: differing.has(p) ? "differs" : "" },
      el("th", { text: p }), data.runs.map((r) => el("td", { "data-id": r.id, text: show(r.params[p]) }))));
    const metricRows = data.metrics.map((m) => el("tr", {},
      el("th", { text: m }), data.runs.map((r) => el("td", { "data-id": r.id, text: show(r.last[m]) }))));
    const table = el("table", { class: "grid compare", id: "compare-table" }, el("thead", {}, head),
      el("tbody", {}, el("tr", { class: "section" }, el("th", { colspan: data.runs.length + 1, text: "parameters (differing values highlighted)" })), paramRows,
        el("tr", { class: "section" }, el("th", { colspan: data.runs.length + 1, text: "last metric values" })), metricRows));
    function best() {
      for (const c of table.querySelectorAll(".best")) c.classList.remove("best");
      const m = metric.value;
      const scored = data.runs.filter((r) => typeof r.last[m] === "number");
      if (!scored.length) { bestLine.textContent = "no run has a value for this metric"; return; }
      const pick = scored.reduce((a, b) => ((direction.value === "min" ? b.last[m] < a.last[m] : b.last[m] > a.last[m]) ? b : a));
      bestLine.textContent = `best: ${label(pick)} (${m} = ${show(pick.last[m])})`;
      for (const c of table.querySelectorAll(`[data-id="${pick.id}"]`)) c.classList.add("best");
    }
    metric.addEventListener("change", best);
    direction.addEventListener("change", best);
    const charts = el("div", { class: "charts" });
    for (const m of data.metrics) {
      const runs = data.runs.filter((r) => r.series[m]);
      if (!runs.length) continue;
      const joined = uPlot.join(runs.map((r) => [r.series[m].steps, r.series[m].values]));
      charts.append(chartCard(m, joined, runs.map(label)));
    }
    put(root.firstChild, data.metrics.length ? el("div", { class: "toolbar" }, "Best run by ", metric, direction, " ", bestLine) : null,
      el("div", { class: "scroll" }, table), card("Metrics", charts));
    if (data.metrics.length) best();
  }

  const pages = { table: tablePage, experiment: experimentPage, compare: comparePage };
  (pages[document.body.dataset.page] || tablePage)().catch((err) => root.replaceChildren(errorLine(String(err.message || err))));
})();
