// Operator console: the queue, claim, live chat, the ticket draft, hand back or close.
// API: desk/handoff/routes.py. Live feed: /api/handoffs/live (websocket, token in the query).
(function () {
  "use strict";
  var TOKEN_KEY = "rexian.console.token", USER_KEY = "rexian.console.user", ROLE_KEY = "rexian.console.role";
  var $ = function (id) { return document.getElementById(id); };
  var token = sessionStorage.getItem(TOKEN_KEY), me = sessionStorage.getItem(USER_KEY);
  var role = sessionStorage.getItem(ROLE_KEY);
  var queue = [], selected = null, view = null, ws = null, pingTimer = null, pollTimer = null;
  var REASON_TAGS = { urgent: "紧急" };
  var CHANNELS = { webchat: "网页", wechat: "微信", rest: "接口", voice: "电话" };

  function toast(text) {
    var t = $("toast"); t.textContent = text; t.hidden = false;
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.hidden = true; }, 3000);
  }
  function api(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (r.status === 401) { logout("登录已失效，请重新登录"); }
        if (!r.ok) { var e = new Error((b.error && b.error.message) || "操作失败"); e.status = r.status; throw e; }
        return b;
      });
    });
  }
  function minutes(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    return seconds < 60 ? seconds + " 秒" : Math.floor(seconds / 60) + " 分 " + (seconds % 60) + " 秒";
  }

  // ---- login ------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { username: $("username").value.trim(), password: $("password").value };
    fetch("/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { $("login-error").textContent = (res.body.error && res.body.error.message) || "登录失败"; return; }
        token = res.body.token; me = body.username; role = res.body.role;
        sessionStorage.setItem(TOKEN_KEY, token); sessionStorage.setItem(USER_KEY, me);
        sessionStorage.setItem(ROLE_KEY, role);
        start();
      })
      .catch(function () { $("login-error").textContent = "网络错误，请重试"; });
  });
  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY); token = null;
    if (ws) { ws.onclose = null; ws.close(); }
    clearInterval(pingTimer); clearInterval(pollTimer);
    $("desk").hidden = true; $("login").hidden = false;
    $("login-error").textContent = message || "";
  }
  $("logout").addEventListener("click", function () { logout(""); });

  function start() {
    $("login").hidden = true; $("desk").hidden = false; $("me").textContent = me;
    $("accounts-toggle").hidden = role !== "admin";
    connect(); loadQueue();
    pollTimer = setInterval(function () { loadQueue(); renderQueue(); }, 5000);
  }

  // ---- live feed --------------------------------------------------------------------------
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/api/handoffs/live?token=" + encodeURIComponent(token));
    ws.onopen = function () {
      $("live").textContent = "实时连接正常"; $("live").classList.remove("off");
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { if (ws.readyState === 1) ws.send("ping"); }, 10000);
      ws.send("ping");
      loadQueue();
    };
    ws.onmessage = function (event) {
      var msg; try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "queue") loadQueue();
      if (msg.type === "message" && selected && msg.sender_id === selected) {
        addLine(msg);
        if (msg.from === "citizen") refreshSuggestion();
      }
      if (msg.type === "message" && msg.from === "citizen" && msg.sender_id !== selected) markUnread(msg.sender_id);
    };
    ws.onclose = function () {
      $("live").textContent = "实时连接中断，正在重连…"; $("live").classList.add("off");
      clearInterval(pingTimer);
      if (token) setTimeout(connect, 2000);
    };
  }

  // ---- queue ------------------------------------------------------------------------------
  function loadQueue() {
    if (!token) return;
    api("GET", "/api/handoffs").then(function (items) {
      queue = items; renderQueue();
      if (selected && !queue.some(function (h) { return h.sender_id === selected; })) { select(null); }
      else if (selected) { refreshHead(); }
    }).catch(function () { /* shown by the live badge */ });
  }
  function renderQueue() {
    var list = $("queue"); list.innerHTML = "";
    $("queue-count").textContent = queue.filter(function (h) { return h.state === "waiting"; }).length;
    $("queue-empty").hidden = queue.length > 0;
    queue.forEach(function (h) {
      var li = document.createElement("li");
      li.dataset.sender = h.sender_id;
      li.className = (h.sender_id === selected ? "active " : "") + (h.urgent ? "urgent" : "");
      var state = h.state === "held" ? (h.operator === me ? "我接待中" : h.operator + " 接待中") : "等待中";
      li.innerHTML = '<div class="who"></div><div><span class="tag state"></span><span class="tag reason"></span>' +
        '<span class="tag channel"></span></div><div class="meta wait"></div>';
      li.querySelector(".who").textContent = "市民 " + h.sender_id.slice(-6);
      li.querySelector(".state").textContent = state;
      li.querySelector(".state").classList.toggle("held", h.state === "held");
      li.querySelector(".reason").textContent = h.reason_text;
      li.querySelector(".reason").classList.toggle("urgent", h.urgent);
      li.querySelector(".channel").textContent = CHANNELS[h.channel] || h.channel;
      li.querySelector(".wait").textContent = "已等待 " + minutes(h.waiting_s) + (h.note ? " · " + h.note : "");
      li.addEventListener("click", function () { select(h.sender_id); });
      list.appendChild(li);
    });
  }
  function markUnread(sender) {
    var li = document.querySelector('#queue li[data-sender="' + CSS.escape(sender) + '"] .who');
    if (li && li.textContent.indexOf("•") < 0) li.textContent += " •新消息";
  }

  // ---- one conversation ---------------------------------------------------------------------
  function current() { return queue.find(function (h) { return h.sender_id === selected; }); }
  function select(sender) {
    selected = sender; view = null;
    $("no-selection").hidden = !!sender; $("selected").hidden = !sender;
    renderQueue();
    if (!sender) { fillDraft({}); $("suggestion").textContent = ""; return; }
    $("transcript").innerHTML = "";
    api("GET", "/api/handoffs/" + encodeURIComponent(sender)).then(function (v) {
      if (selected !== sender) return;
      view = v;
      (v.transcript || []).forEach(addLine);
      if (v.transcript_error) toast(v.transcript_error);
      fillDraft(v.draft || {});
      showSuggestion(v.suggestion);
      refreshHead();
    }).catch(function (e) { toast(e.message); });
  }
  function refreshHead() {
    var h = current(); if (!h) return;
    var mine = h.state === "held" && h.operator === me;
    $("conv-title").textContent = "市民 " + h.sender_id.slice(-6);
    $("conv-meta").textContent = " · " + (CHANNELS[h.channel] || h.channel) + " · " + h.reason_text +
      (h.state === "held" ? " · " + h.operator + " 接待中" : " · 等待 " + minutes(h.waiting_s));
    $("claim").hidden = mine; $("claim").disabled = h.state === "held";
    $("release").hidden = $("close").hidden = !mine;
    $("reply").disabled = $("send").disabled = !mine;
    $("submit-ticket").disabled = $("save-draft").disabled = !mine;
  }
  function addLine(m) {
    var line = document.createElement("div");
    line.className = "line " + m.from;
    var who = document.createElement("div"); who.className = "who";
    who.textContent = m.from === "citizen" ? "市民" + (m.voice ? "（语音转写）" : "") :
      m.from === "operator" ? "客服 " + (m.operator || "") : "智能助手";
    var bubble = document.createElement("div"); bubble.className = "bubble"; bubble.textContent = m.text;
    line.appendChild(who); line.appendChild(bubble);
    $("transcript").appendChild(line);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }
  $("claim").addEventListener("click", function () {
    api("POST", "/api/handoffs/" + encodeURIComponent(selected) + "/claim")
      .then(function () { toast("已接入"); loadQueue(); $("reply").focus(); })
      .catch(function (e) { toast(e.message); loadQueue(); });
  });
  function release(close) {
    var sender = selected;
    api("POST", "/api/handoffs/" + encodeURIComponent(sender) + "/release", { close: close })
      .then(function () { toast(close ? "已结束服务" : "已转回智能助手"); select(null); loadQueue(); })
      .catch(function (e) { toast(e.message); });
  }
  $("release").addEventListener("click", function () { release(false); });
  $("close").addEventListener("click", function () { release(true); });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply").value.trim(); if (!text) return;
    $("send").disabled = true;
    api("POST", "/api/handoffs/" + encodeURIComponent(selected) + "/messages", { text: text })
      .then(function () { $("reply").value = ""; })
      .catch(function (err) { toast(err.message); })
      .then(function () { $("send").disabled = false; $("reply").focus(); });
  });
  $("reply").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });

  // ---- draft ------------------------------------------------------------------------------
  var FIELDS = ["description", "location", "occurred_at", "phone", "scenario"];
  function fillDraft(d) { FIELDS.forEach(function (f) { $("d-" + f).value = d[f] || ""; }); $("draft-status").textContent = d.ticket_id ? "已提交工单 " + d.ticket_id : ""; }
  function readDraft() {
    var d = {}; FIELDS.forEach(function (f) { var v = $("d-" + f).value.trim(); if (v) d[f] = v; }); return d;
  }
  function showSuggestion(s) {
    var text = "";
    if (s && s.owner && s.sure) {
      text = "系统建议：" + (s.owner_name || s.owner) + "（" + s.label + "，置信度 " +
        Math.round((s.confidence || 0) * 100) + "%）" + (s.urgent ? "，紧急" : "");
    } else if (s && s.owner) {
      text = "系统暂无把握（最接近：" + (s.owner_name || s.owner) + "），请人工判断派单场景";
    } else if (s) {
      text = "系统判断：不属于派单事项（咨询类）";
    }
    $("suggestion").textContent = text;
    $("d-scenario").placeholder = s && s.label && s.sure ? s.label + "（系统建议）" : "如 noise.renovation，留空由系统判断";
  }
  var suggestTimer = null;
  function refreshSuggestion() {  // the citizen said more: ask the dispatcher again, at most every 2 s
    clearTimeout(suggestTimer);
    var sender = selected;
    suggestTimer = setTimeout(function () {
      api("GET", "/api/handoffs/" + encodeURIComponent(sender)).then(function (v) {
        if (selected === sender) showSuggestion(v.suggestion);
      }).catch(function () { /* keep the old one */ });
    }, 2000);
  }
  $("save-draft").addEventListener("click", function () {
    api("PUT", "/api/handoffs/" + encodeURIComponent(selected) + "/draft", readDraft())
      .then(function () { $("draft-status").textContent = "草稿已保存"; })
      .catch(function (e) { toast(e.message); });
  });
  $("submit-ticket").addEventListener("click", function () {
    api("POST", "/api/handoffs/" + encodeURIComponent(selected) + "/ticket", readDraft())
      .then(function (t) { $("draft-status").textContent = "已提交工单 " + t.id + "，派至 " + (t.owner_name || "待人工派单"); })
      .catch(function (e) { toast(e.message); });
  });

  // ---- accounts (admins) ----------------------------------------------------------------
  function loadAccounts() {
    api("GET", "/api/users").then(function (list) {
      var body = $("accounts-list"); body.innerHTML = "";
      list.forEach(function (u) {
        var tr = document.createElement("tr");
        [u.username, u.role === "admin" ? "管理员" : "坐席", u.created_at.slice(0, 10)].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }).catch(function (e) { toast(e.message); });
  }
  $("accounts-toggle").addEventListener("click", function () { $("accounts").hidden = false; loadAccounts(); });
  $("accounts-close").addEventListener("click", function () { $("accounts").hidden = true; });
  $("account-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { username: $("a-username").value.trim(), password: $("a-password").value, role: $("a-role").value };
    api("POST", "/api/users", body).then(function () {
      toast("已新增账号 " + body.username); $("a-username").value = ""; $("a-password").value = ""; loadAccounts();
    }).catch(function (err) { toast(err.message); });
  });

  if (token) start(); else { $("login").hidden = false; }
})();
