// Rexian web chat: one websocket to Rasa's web chat channel (bot/channels/webchat.py).
// Nothing the citizen writes is lost: unacknowledged messages are kept in localStorage and
// resent after a reconnect (the server runs each client id once), and the page asks for every
// message after the last sequence number it has shown.
(function () {
  "use strict";
  var config = window.REXIAN_CHAT || {};
  var SESSION_KEY = "rexian.chat.session";
  var PENDING_KEY = "rexian.chat.pending";
  var $ = function (id) { return document.getElementById(id); };
  var list = $("messages"), input = $("input"), typing = $("typing"), quick = $("quick");
  var ws = null, shownSeq = 0, retry = 0, connected = false, shownIds = {};
  var pending = load(PENDING_KEY, []);

  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v == null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  function newId() { return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }

  function socketUrl() {
    if (config.socketUrl) return config.socketUrl;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.hostname + ":" + (config.rasaPort || 5005) + "/webhooks/webchat/ws";
  }

  // ---- rendering ----------------------------------------------------------------------
  function scrollDown() { list.scrollTop = list.scrollHeight; }
  function row(kind, avatarText, avatarClass) {
    var r = document.createElement("div");
    r.className = "row " + kind;
    var a = document.createElement("div");
    a.className = "avatar " + avatarClass; a.textContent = avatarText; a.setAttribute("aria-hidden", "true");
    var b = document.createElement("div");
    b.className = "bubble";
    r.appendChild(a); r.appendChild(b);
    return r;
  }
  function fillBubble(bubble, msg) {
    if (msg.image || msg.url) {
      var img = document.createElement("img");
      img.src = msg.image || msg.url; img.alt = "图片";
      bubble.appendChild(img);
    }
    if (msg.text) {
      var t = document.createElement("div");
      t.className = "text"; t.textContent = msg.text;
      bubble.appendChild(t);
    }
  }
  function showUser(msg, state) {
    var existing = msg.id && shownIds[msg.id];
    if (existing) { setState(existing, state); return; }
    var r = row("user", "我", "user-avatar");
    fillBubble(r.querySelector(".bubble"), msg.voice ? { text: "🎤 " + msg.text } : msg);
    var meta = document.createElement("div");
    meta.className = "meta"; r.querySelector(".bubble").appendChild(meta);
    if (msg.id) { r.dataset.id = msg.id; shownIds[msg.id] = r; }
    setState(r, state);
    list.appendChild(r); scrollDown();
  }
  function setState(r, state) {
    r.classList.toggle("pending", state === "pending");
    r.classList.toggle("failed", state === "failed");
    var meta = r.querySelector(".meta");
    if (meta) meta.textContent = state === "pending" ? "发送中…" : state === "failed" ? "未送达，联网后自动重发" : "";
  }
  function showBot(msg) {
    var operator = msg.from === "operator";
    var r = row("bot", operator ? "客" : "政", operator ? "operator-avatar" : "bot-avatar");
    var bubble = r.querySelector(".bubble");
    var who = document.createElement("div");
    who.className = "who"; who.textContent = operator ? "人工客服" + (msg.operator ? " · " + msg.operator : "") : "12345 智能助手";
    r.insertBefore(who, bubble);
    var column = document.createElement("div");
    column.appendChild(who); column.appendChild(bubble);
    r.appendChild(column);
    fillBubble(bubble, msg);
    list.appendChild(r); scrollDown();
    setQuickReplies(msg.buttons || []);
  }
  function notice(text) {
    var n = document.createElement("div");
    n.className = "notice"; n.textContent = text;
    list.appendChild(n); scrollDown();
  }
  function setQuickReplies(buttons) {
    quick.innerHTML = "";
    buttons.forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.textContent = b.title;
      btn.addEventListener("click", function () { sendText(b.payload || b.title, b.title); });
      quick.appendChild(btn);
    });
  }
  function toast(text) {
    var t = $("toast");
    t.textContent = text; t.hidden = false;
    clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.hidden = true; }, 2500);
  }
  function setTyping(on) { typing.hidden = !on; if (on) { list.appendChild(typing); scrollDown(); } }

  // ---- connection ---------------------------------------------------------------------
  function connect() {
    try { ws = new WebSocket(socketUrl()); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", session: load(SESSION_KEY, ""), since: shownSeq }));
    };
    ws.onmessage = function (event) {
      var frame; try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function () {
      connected = false; $("status").hidden = false; setTyping(false);
      pending.forEach(function (m) { if (shownIds[m.id]) setState(shownIds[m.id], "failed"); });
      scheduleReconnect();
    };
  }
  function scheduleReconnect() {
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, Math.min(500 * Math.pow(2, retry - 1), 8000));
  }
  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        if (frame.session !== load(SESSION_KEY, "")) { save(SESSION_KEY, frame.session); }
        if (frame.last_seq === 0 && shownSeq === 0 && !list.querySelector(".row, .notice")) greet();
        break;
      case "ready":  // the replay is done: now resend what was never acknowledged
        connected = true; retry = 0; $("status").hidden = true;
        pending.forEach(function (m) { showUser(m, "pending"); transmit(m); });
        break;
      case "ack":
        pending = pending.filter(function (m) { return m.id !== frame.id; });
        save(PENDING_KEY, pending);
        if (shownIds[frame.id]) setState(shownIds[frame.id], "sent");
        break;
      case "typing": setTyping(!!frame.on); break;
      case "user": case "bot":
        if (frame.seq <= shownSeq) break;
        shownSeq = frame.seq;
        if (frame.type === "user") showUser(frame, "sent"); else { setTyping(false); showBot(frame); }
        break;
      case "error": toast(frame.message || "发送失败"); break;
      default: break;
    }
  }
  function greet() {
    notice("您好！我是" + (config.city || "") + "12345 智能助手。可以直接说您遇到的问题，我会帮您登记并转给负责的部门；也可以问政策。随时说“转人工”可以找人工客服。");
    setQuickReplies([
      { title: "我要投诉", payload: "我要投诉" },
      { title: "政策咨询", payload: "我想咨询政策" },
      { title: "查询工单", payload: "查一下我的工单" },
      { title: "转人工", payload: "转人工" }
    ]);
  }
  function transmit(m) {
    if (connected && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  }
  function queue(m) {
    pending.push(m); save(PENDING_KEY, pending);
    showUser(m, "pending");
    transmit(m);
  }

  // ---- sending --------------------------------------------------------------------------
  function sendText(text, title, voice) {
    text = (text || "").trim();
    if (!text) return;
    var m = { type: "message", id: newId(), text: text };
    if (title && title !== text) m.title = title;
    if (voice) m.voice = true;
    setQuickReplies([]);
    queue(m);
  }
  $("form").addEventListener("submit", function (e) {
    e.preventDefault();
    sendText(input.value); input.value = ""; input.style.height = "";
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("form").requestSubmit(); }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 96) + "px";
  });

  $("image").addEventListener("change", function () {
    var file = this.files && this.files[0];
    this.value = "";
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) { toast("图片不能超过 5 MB"); return; }
    fetch("/api/chat/uploads", { method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { toast((res.body.error && res.body.error.message) || "图片上传失败"); return; }
        queue({ type: "image", id: newId(), url: location.origin + res.body.url });
      })
      .catch(function () { toast("网络不好，图片没有发出去，请重试"); });
  });

  // ---- press to talk: 16 kHz mono WAV recorded in the page, transcribed by desk/speech --------
  var talk = $("talk"), recorder = null;
  $("mode").addEventListener("click", function () {
    var voice = talk.hidden;
    talk.hidden = !voice; input.hidden = voice; $("send").hidden = voice;
    this.textContent = voice ? "⌨" : "🎤";
    this.setAttribute("aria-label", voice ? "切换文字输入" : "切换语音输入");
  });
  function startRecording() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { toast("此浏览器不支持录音，请打字"); return; }
    // The browser's voice processing (echo cancellation, noise suppression, gain control)
    // is tuned for calls between people and costs the recogniser accuracy: off.
    var audio = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    navigator.mediaDevices.getUserMedia({ audio: audio }).then(function (stream) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx(), source = ctx.createMediaStreamSource(stream);
      var node = ctx.createScriptProcessor(4096, 1, 1), chunks = [];
      node.onaudioprocess = function (e) { chunks.push(new Float32Array(e.inputBuffer.getChannelData(0))); };
      source.connect(node); node.connect(ctx.destination);
      recorder = { ctx: ctx, stream: stream, node: node, chunks: chunks, started: Date.now(), cancelled: false };
      talk.classList.add("active"); talk.textContent = "松开 发送"; $("recording").hidden = false;
    }).catch(function () { toast("没有麦克风权限，请打字"); });
  }
  function stopRecording(cancel) {
    if (!recorder) return;
    var r = recorder; recorder = null;
    talk.classList.remove("active"); talk.textContent = "按住 说话"; $("recording").hidden = true;
    r.node.disconnect(); r.stream.getTracks().forEach(function (t) { t.stop(); });
    var rate = r.ctx.sampleRate; r.ctx.close();
    if (cancel) return;
    if (Date.now() - r.started < 600) { toast("说话时间太短"); return; }
    var wav = encodeWav(r.chunks, rate, 16000);
    setTyping(true);
    fetch("/api/chat/voice", { method: "POST", body: wav, headers: { "Content-Type": "audio/wav" } })
      .then(function (resp) { return resp.json().then(function (b) { return { ok: resp.ok, body: b }; }); })
      .then(function (res) {
        setTyping(false);
        if (!res.ok) { toast((res.body.error && res.body.error.message) || "语音识别失败，请改用文字"); return; }
        sendText(res.body.text, null, true);
      })
      .catch(function () { setTyping(false); toast("网络不好，语音没有发出去，请重试"); });
  }
  talk.addEventListener("pointerdown", function (e) { e.preventDefault(); startRecording(); });
  talk.addEventListener("pointerup", function () { stopRecording(false); });
  talk.addEventListener("pointerleave", function () { stopRecording(true); });
  talk.addEventListener("pointercancel", function () { stopRecording(true); });

  function encodeWav(chunks, fromRate, toRate) {
    var length = chunks.reduce(function (n, c) { return n + c.length; }, 0);
    var joined = new Float32Array(length), offset = 0;
    chunks.forEach(function (c) { joined.set(c, offset); offset += c.length; });
    var ratio = fromRate / toRate, outLength = Math.floor(length / ratio);
    var buffer = new ArrayBuffer(44 + outLength * 2), view = new DataView(buffer);
    function str(o, s) { for (var i = 0; i < s.length; i++) view.setUint8(o + i, s.charCodeAt(i)); }
    str(0, "RIFF"); view.setUint32(4, 36 + outLength * 2, true); str(8, "WAVE"); str(12, "fmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, toRate, true); view.setUint32(28, toRate * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); str(36, "data"); view.setUint32(40, outLength * 2, true);
    for (var i = 0; i < outLength; i++) {
      var start = Math.floor(i * ratio), end = Math.min(length, Math.floor((i + 1) * ratio)), sum = 0;
      for (var j = start; j < end; j++) sum += joined[j];
      var s = Math.max(-1, Math.min(1, sum / Math.max(1, end - start)));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([view], { type: "audio/wav" });
  }

  connect();
})();
