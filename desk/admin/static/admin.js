// desk admin page: review queue, NLU training data, Rasa models. The token lives in sessionStorage.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const REASONS = { low_confidence: "置信度低", fallback: "未能识别", takeover: "人工接管", reassignment: "派单改派" };
  const STATUS = { training: "训练中", trained: "待上线", failed: "失败", active: "使用中", retired: "已下线", pruned: "文件已清理" };
  const MODES = { full: "完整训练", finetune: "增量训练", external: "已有文件" };
  let vocabulary = { intents: [], entities: [], scenarios: [] };
  let polling = null;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child);
    return node;
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 3000);
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + sessionStorage.getItem("rexian-admin-token") };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { logout(); }
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || "请求失败（" + response.status + "）");
      error.details = data.error && data.error.details;
      throw error;
    }
    return data;
  }

  function showError(node, error) {
    node.textContent = error.message;
    node.hidden = false;
  }

  function options(select, values, labels) {
    select.replaceChildren(...values.map((v) => el("option", { value: v, textContent: labels ? labels(v) : v })));
  }

  // --- login ---------------------------------------------------------------------------
  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").hidden = true;
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError($("login-error"), new Error((data.error && data.error.message) || "登录失败"));
      return;
    }
    sessionStorage.setItem("rexian-admin-token", data.token);
    start();
  });

  function logout() {
    sessionStorage.removeItem("rexian-admin-token");
    $("app").hidden = true;
    $("tabs").hidden = true;
    $("login").hidden = false;
  }
  $("logout").addEventListener("click", logout);

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("tabs").hidden = false;
    loadReview().catch((e) => toast(e.message));
  }

  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll("#tabs [data-tab]")) other.classList.toggle("active", other === button);
      for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== "tab-" + button.dataset.tab;
      const load = { review: loadReview, data: loadData, models: loadModels }[button.dataset.tab];
      load().catch((e) => toast(e.message));
    });
  }

  // --- review queue --------------------------------------------------------------------
  async function loadReview() {
    const data = await api("GET", "/api/review?status=" + $("review-status").value);
    vocabulary = { intents: data.intents, entities: data.entities, scenarios: data.scenarios || [] };
    const counts = data.counts || {};
    $("review-counts").textContent = `待处理 ${counts.open || 0} · 已标注 ${counts.annotated || 0} · 已忽略 ${counts.dismissed || 0}`;
    $("review-list").replaceChildren(...data.items.map(reviewItem));
    $("review-empty").hidden = data.items.length > 0;
  }
  // After a decision: other cards keep what the admin is typing; only the counts change.
  async function refreshCounts() {
    $("review-empty").hidden = document.querySelectorAll("#review-list .item").length > 0;
    const data = await api("GET", "/api/review?status=" + $("review-status").value);
    const counts = data.counts || {};
    $("review-counts").textContent = `待处理 ${counts.open || 0} · 已标注 ${counts.annotated || 0} · 已忽略 ${counts.dismissed || 0}`;
  }
  $("review-status").addEventListener("change", () => loadReview().catch((e) => toast(e.message)));
  $("review-refresh").addEventListener("click", () => loadReview().catch((e) => toast(e.message)));

  function reviewItem(item) {
    const card = el("div", { className: "item" });
    card.dataset.id = item.id;
    const tags = el("div", { className: "tags" },
      el("span", { className: "reason", textContent: REASONS[item.reason] || item.reason }),
      el("span", { textContent: "识别为 " + (item.intent || "无") + (item.confidence != null ? "（" + item.confidence.toFixed(2) + "）" : "") }),
      el("span", { textContent: item.created_at ? new Date(item.created_at).toLocaleString("zh-CN") : "" }));
    const turn = (t) => el("div", { className: t.kind, textContent: t.text });
    const before = el("div", { className: "context" }, ...item.context.filter((t) => !t.after).map(turn));
    const after = el("div", { className: "context" }, ...item.context.filter((t) => t.after).map(turn));
    card.append(tags, before, el("div", { className: "text", textContent: item.text }), after);
    if (item.status !== "open") {
      const done = item.status === "annotated" ? "已标注为 " + item.resolution.intent : "已忽略";
      card.append(el("div", { className: "muted", textContent: done + "（" + (item.resolved_by || "") + "）" }));
      return card;
    }
    const intent = el("select", { className: "intent" });
    intent.setAttribute("aria-label", "意图");
    options(intent, vocabulary.intents);
    if (item.intent && vocabulary.intents.includes(item.intent)) intent.value = item.intent;
    const text = el("input", { className: "example", value: item.text });
    text.setAttribute("aria-label", "例句");
    const span = el("input", { className: "span", placeholder: "实体文字（可选）" });
    const entity = el("select", { className: "entity" });
    options(entity, vocabulary.entities);
    const scenario = el("select", { className: "scenario" });
    scenario.setAttribute("aria-label", "派单场景");
    scenario.append(el("option", { value: "", textContent: "派单场景（可选）" }),
      ...vocabulary.scenarios.map((code) => el("option", { value: code, textContent: code })));
    if (item.reason === "reassignment" && vocabulary.scenarios.includes(item.intent)) {
      scenario.value = item.intent;
      intent.value = "complain";
    }
    const error = el("p", { className: "error", hidden: true });
    const annotate = el("button", { type: "submit", className: "primary annotate", textContent: "标注并加入训练数据" });
    const dismiss = el("button", { type: "button", className: "dismiss", textContent: "标为无效" });
    const form = el("form", { className: "row-form" }, intent, text, span, entity, scenario, annotate, dismiss);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const body = { action: "annotate", intent: intent.value, text: text.value, entities: [] };
      if (scenario.value) body.scenario = scenario.value;
      if (span.value) {
        const start = text.value.indexOf(span.value);
        if (start < 0) { showError(error, new Error("实体文字不在例句中")); return; }
        body.entities.push({ start, end: start + span.value.length, entity: entity.value });
      }
      try {
        const done = await api("POST", "/api/review/" + item.id, body);
        toast("已写入 " + done.resolution.file);
        card.remove();
        await refreshCounts();
      } catch (e) { showError(error, e); }
    });
    dismiss.addEventListener("click", async () => {
      try {
        await api("POST", "/api/review/" + item.id, { action: "dismiss" });
        toast("已标为无效");
        card.remove();
        await refreshCounts();
      } catch (e) { showError(error, e); }
    });
    card.append(form, error);
    return card;
  }

  // --- training data -------------------------------------------------------------------
  async function loadData() {
    if (!vocabulary.intents.length) await loadReview();
    if (!$("add-intent").options.length) {
      options($("add-intent"), vocabulary.intents);
      options($("data-intent"), vocabulary.intents);
      options($("add-entity"), vocabulary.entities);
    }
    const data = await api("GET", "/api/nlu/examples?intent=" + encodeURIComponent($("data-intent").value));
    $("data-count").textContent = data.examples.length + " 条";
    $("example-list").replaceChildren(...data.examples.map((example) => exampleRow(example, data.generated)));
    const tables = await api("GET", "/api/nlu/tables");
    const rows = [];
    for (const [kind, items] of [["lookup", tables.lookups], ["synonym", tables.synonyms]]) {
      for (const [name, entries] of Object.entries(items)) {
        const edit = el("button", { type: "button", textContent: "编辑" });
        edit.addEventListener("click", () => {
          $("table-kind").value = kind; $("table-name").value = name; $("table-entries").value = entries.join("\n");
        });
        rows.push(el("li", {}, el("b", { textContent: (kind === "lookup" ? "查找表 " : "同义词 ") + name }),
          el("span", { textContent: entries.slice(0, 8).join("、") + (entries.length > 8 ? "…" : "") }), edit));
      }
    }
    $("table-list").replaceChildren(...rows);
  }
  $("data-intent").addEventListener("change", () => loadData().catch((e) => toast(e.message)));

  function exampleRow(example, generated) {
    const row = el("li", {}, el("span", { className: "text", textContent: example.text }),
      el("span", { className: "file", textContent: example.file }));
    if (generated.includes(example.file)) return row;
    const edit = el("button", { type: "button", textContent: "修改" });
    const remove = el("button", { type: "button", textContent: "删除" });
    edit.addEventListener("click", async () => {
      const text = prompt("修改例句", example.text);
      if (!text || text === example.text) return;
      try {
        await api("PUT", "/api/nlu/examples", { intent: example.intent, old_text: example.text, text });
        toast("已修改"); await loadData();
      } catch (e) { toast(e.message); }
    });
    remove.addEventListener("click", async () => {
      if (!confirm("删除例句「" + example.text + "」？")) return;
      try {
        await api("DELETE", "/api/nlu/examples", { intent: example.intent, text: example.text });
        toast("已删除"); await loadData();
      } catch (e) { toast(e.message); }
    });
    row.append(edit, remove);
    return row;
  }

  $("add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("add-error").hidden = true;
    const text = $("add-text").value;
    const body = { intent: $("add-intent").value, text, entities: [] };
    const span = $("add-span").value;
    if (span) {
      const start = text.indexOf(span);
      if (start < 0) { showError($("add-error"), new Error("实体文字不在例句中")); return; }
      body.entities.push({ start, end: start + span.length, entity: $("add-entity").value });
    }
    try {
      const done = await api("POST", "/api/nlu/examples", body);
      toast("已写入 " + done.file);
      $("add-text").value = ""; $("add-span").value = "";
      await loadData();
    } catch (e) { showError($("add-error"), e); }
  });

  $("table-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("table-error").hidden = true;
    const entries = $("table-entries").value.split("\n").map((s) => s.trim()).filter(Boolean);
    const path = "/api/nlu/tables/" + $("table-kind").value + "/" + encodeURIComponent($("table-name").value);
    try {
      const done = await api("PUT", path, { examples: entries });
      toast("已写入 " + done.file); await loadData();
    } catch (e) { showError($("table-error"), e); }
  });

  // --- models --------------------------------------------------------------------------
  async function loadModels() {
    const data = await api("GET", "/api/models");
    $("model-rows").replaceChildren(...data.models.map(modelRow));
    $("train-state").textContent = data.training ? "训练进行中…" : "";
    $("train-auto").disabled = $("train-full").disabled = data.training;
    clearTimeout(polling);
    if (data.training) polling = setTimeout(() => loadModels().catch(() => {}), 2000);
  }

  const percent = (value) => (value == null ? "—" : (value * 100).toFixed(1) + "%");

  function modelRow(model) {
    const bar = el("span", { className: "progress" }, el("i"));
    bar.firstChild.style.width = Math.round((model.progress || 0) * 100) + "%";
    const actions = el("td", {});
    if (model.status === "trained" || model.status === "retired" || model.status === "active") {
      const compare = el("button", { type: "button", textContent: "对比" });
      compare.addEventListener("click", () => showComparison(model.id).catch((e) => toast(e.message)));
      actions.append(compare);
    }
    if (model.status === "trained" || model.status === "retired") {
      const rollback = model.status === "retired" || model.mode === "external";
      const go = el("button", { type: "button", className: "primary promote", textContent: rollback ? "回滚到此模型" : "上线" });
      go.addEventListener("click", async () => {
        go.disabled = true;
        try {
          const done = await api("POST", "/api/models/" + encodeURIComponent(model.id) + (rollback ? "/rollback" : "/promote"));
          toast("已切换到 " + done.id + "（" + done.swap_seconds.toFixed(1) + " 秒）");
        } catch (e) { toast(e.message); }
        await loadModels();
      });
      actions.append(go);
    }
    const metrics = model.metrics || {};
    return el("tr", { className: "model" },
      el("td", { textContent: model.id }),
      el("td", { textContent: MODES[model.mode] || model.mode }),
      el("td", { className: "status-" + model.status, textContent: STATUS[model.status] || model.status }),
      el("td", {}, bar, el("div", { className: "muted", textContent: model.stage || "" })),
      el("td", { textContent: percent(metrics.intent_f1) }),
      el("td", { textContent: percent(metrics.dispatch_accuracy) }),
      el("td", { textContent: model.train_seconds ? model.train_seconds + " 秒" : "—" }),
      actions);
  }

  async function showComparison(id) {
    const data = await api("GET", "/api/models/" + encodeURIComponent(id) + "/compare");
    $("compare").hidden = false;
    $("compare-title").textContent = "对比：" + (data.current || "（无）") + " → " + data.candidate;
    const names = { intent_f1: "意图 F1（加权）", intent_accuracy: "意图准确率", dispatch_accuracy: "派单测试集进入投诉流程的比例" };
    $("compare-figures").replaceChildren(...Object.entries(data.figures).map(([name, pair]) =>
      el("tr", {}, el("td", { textContent: names[name] || name }), el("td", { textContent: percent(pair.current) }),
        el("td", { textContent: percent(pair.candidate) }))));
    const outcome = { fixed: "改对了", broken: "改错了", changed: "仍不对" };
    $("compare-changed").replaceChildren(...data.changed.map((c) => el("li", { className: c.outcome },
      el("span", { textContent: outcome[c.outcome] }), el("span", { textContent: c.text }),
      el("span", { className: "file", textContent: `应为 ${c.expected}：${c.before} → ${c.after}` }))));
    if (!data.changed.length) $("compare-changed").append(el("li", { className: "muted", textContent: "没有结果改变的例句" }));
  }

  async function train(mode) {
    try {
      const model = await api("POST", "/api/models/train", { mode });
      toast("开始训练 " + model.id + "（" + (MODES[model.mode] || model.mode) + "）");
    } catch (e) { toast(e.message); }
    await loadModels();
  }
  $("train-auto").addEventListener("click", () => train("auto"));
  $("train-full").addEventListener("click", () => train("full"));

  if (sessionStorage.getItem("rexian-admin-token")) start();
})();
