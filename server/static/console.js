/*
 * The copilot console for human agents. Plain JS. Server text is rendered with textContent only.
 * The staff token lives in sessionStorage (this tab) and goes out as "Authorization: Bearer".
 */
(function () {
  "use strict";

  var TOKEN_KEY = "shopagent:staff-token";
  var POLL_MS = 2000;
  var state = { token: sessionStorage.getItem(TOKEN_KEY), ticketId: null, poll: null, role: null };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function api(path, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    var init = { method: options.method || "GET", headers: headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(path, init).then(function (response) {
      if (response.status === 401 && state.token) signOut();
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail ? String(data.detail) : "HTTP " + response.status);
        return data;
      });
    });
  }

  // --- sign-in --------------------------------------------------------------------------------------------

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    $("login-error").textContent = "";
    api("/api/console/login", { method: "POST", body: { staff_id: $("staff-id").value, password: $("password").value } })
      .then(function (data) {
        state.token = data.token;
        sessionStorage.setItem(TOKEN_KEY, data.token);
        $("password").value = "";
        start();
      }, function (error) { $("login-error").textContent = error.message; });
  });

  $("signout").addEventListener("click", signOut);

  function signOut() {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(state.poll);
    $("desk").hidden = true;
    $("login").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
  }

  function start() {
    api("/api/console/me").then(function (me) {
      $("who").textContent = me.display_name + " (" + me.staff_id + ", " + me.role + ")";
      state.role = me.role;
      $("assign-box").hidden = me.role !== "supervisor";
      if (me.role === "supervisor") loadStaff();
      $("login").hidden = true;
      $("desk").hidden = false;
      $("signout").hidden = false;
      refresh();
      clearInterval(state.poll);
      state.poll = setInterval(refresh, POLL_MS);
    }, function () { signOut(); });
  }

  function refresh() {
    loadQueue();
    loadHolds();
    if (state.ticketId !== null) loadTicket(state.ticketId);
  }

  // --- the queue ------------------------------------------------------------------------------------------

  function loadQueue() {
    api("/api/console/tickets").then(function (data) {
      var list = $("queue");
      list.textContent = "";
      data.tickets.forEach(function (ticket) {
        var button = el("button", { type: "button", "data-testid": "console-queue-item",
          "data-ticket-id": String(ticket.id), "aria-current": String(ticket.id === state.ticketId) });
        button.appendChild(el("span", { class: "priority" }, ticket.priority.toFixed(2)));
        button.appendChild(document.createTextNode("#" + ticket.id + " · " + (ticket.customer_id || "guest")));
        button.appendChild(el("span", { class: "reason", "data-reason": ticket.reason },
          ticket.reason_text + " · " + ticket.status +
          (ticket.staff_id ? " (" + ticket.staff_id + ")" : "")));
        button.addEventListener("click", function () { state.ticketId = ticket.id; loadTicket(ticket.id); loadQueue(); });
        var item = el("li");
        item.appendChild(button);
        list.appendChild(item);
      });
      if (!data.tickets.length) list.appendChild(el("li", {}, "No one is waiting."));
    });
  }

  // --- one ticket -----------------------------------------------------------------------------------------

  function loadTicket(id) {
    return api("/api/console/tickets/" + id).then(renderTicket, function (error) {
      $("ticket-error").textContent = error.message;
    });
  }

  function renderTicket(view) {
    var ticket = view.ticket;
    $("ticket").hidden = false;
    $("ticket").setAttribute("data-status", ticket.status);
    $("ticket-title").textContent = "Ticket #" + ticket.id + " · " + ticket.reason_text + " · " + ticket.status +
      " · priority " + ticket.priority.toFixed(2);
    $("summary").textContent = ticket.summary;
    renderTranscript(view.transcript);
    renderTimeline(view.timeline);
    renderOrders(view.customer);
    renderDrafts(view.drafts);
    renderActions(view.actions);
  }

  function renderTranscript(messages) {
    var list = $("transcript");
    var atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.textContent = "";
    messages.forEach(function (m) {
      var kind = m.role === "tool" ? "tool" : m.human ? "human" : m.role;
      var who = m.role === "user" ? "Customer" : m.role === "tool" ? m.tool : m.author || "Bot";
      var item = el("li", { class: kind, "data-role": kind });
      if (m.role === "tool" && m.result) item.appendChild(toolResult(m));
      else item.appendChild(el("strong", {}, who + (m.role === "tool" ? "" : ": ")));
      if (m.role !== "tool") item.appendChild(document.createTextNode(m.text));
      else if (!m.ok) item.appendChild(el("p", { class: "failed" }, m.text));
      list.appendChild(item);
    });
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  // --- tool results as small tables ----------------------------------------------------------------------------

  var ID_FIELDS = ["order_id", "user_id", "product_id", "item_id"];

  // Folded under its name and the id it is about ("Order details · #W6247578"); opened, a small table.
  function toolResult(m) {
    var box = el("details", { class: "tool-result" });
    var about = Array.isArray(m.result) ? "" : ID_FIELDS.map(function (k) { return m.result[k]; })
      .filter(Boolean)[0];
    box.appendChild(el("summary", {}, m.tool + (about ? " · " + about : "")));
    box.appendChild(dataTable(m.result, 0));
    return box;
  }

  function words(key) { return key.replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); }); }

  function scalar(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  // An object as rows of label and value; a list of objects (the items) as rows with one column per field;
  // anything deeper as one line of text, so a result stays small and never turns into a wall of JSON.
  function dataTable(value, depth) {
    if (Array.isArray(value)) return listTable(value, depth);
    if (value === null || typeof value !== "object") return el("span", {}, scalar(value));
    var wrap = el("div", { class: "table-wrap" });
    var table = el("table", { class: "data fields", "data-testid": "console-tool-table" });
    Object.keys(value).forEach(function (key) {
      var row = el("tr");
      row.appendChild(el("th", { scope: "row" }, words(key)));
      var cell = el("td");
      cell.appendChild(cellValue(value[key], depth));
      row.appendChild(cell);
      table.appendChild(row);
    });
    wrap.appendChild(table);
    return wrap;
  }

  function listTable(items, depth) {
    if (!items.length) return el("span", {}, "—");
    if (typeof items[0] !== "object" || items[0] === null) return el("span", {}, items.map(scalar).join(", "));
    var columns = [];
    items.forEach(function (item) {
      Object.keys(item).forEach(function (key) { if (columns.indexOf(key) < 0) columns.push(key); });
    });
    var wrap = el("div", { class: "table-wrap" });
    var table = el("table", { class: "data" });
    var head = el("tr");
    columns.forEach(function (key) { head.appendChild(el("th", { scope: "col" }, words(key))); });
    table.appendChild(head);
    items.forEach(function (item) {
      var row = el("tr");
      columns.forEach(function (key) {
        var cell = el("td");
        cell.appendChild(cellValue(item[key], depth));
        row.appendChild(cell);
      });
      table.appendChild(row);
    });
    wrap.appendChild(table);
    return wrap;
  }

  function cellValue(value, depth) {
    var rows = Array.isArray(value) && value.length && typeof value[0] === "object" && value[0] !== null;
    if (rows && depth === 0) return listTable(value, 1);
    if (value !== null && typeof value === "object") return el("span", {}, flat(value));
    return el("span", {}, scalar(value));
  }

  function flat(value) {
    if (Array.isArray(value)) return value.map(function (v) { return typeof v === "object" ? flat(v) : scalar(v); }).join(", ");
    return Object.keys(value).map(function (k) {
      var v = value[k];
      return words(k) + ": " + (v !== null && typeof v === "object" ? flat(v) : scalar(v));
    }).join("; ");
  }

  // --- the sentiment chart: frustration per customer turn, with labelled axes and the escalation threshold ----

  var SVG = "http://www.w3.org/2000/svg";
  var CHART = { width: 320, height: 150, left: 42, right: 8, top: 10, bottom: 36 };
  var ALERT_LEVEL = 0.55;  // the policy's default `enter` level

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, String(attrs[name])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderTimeline(points) {
    var box = $("timeline");
    box.textContent = "";
    if (!points.length) return box.appendChild(el("p", {}, "No customer turns scored yet."));
    var c = CHART, plotW = c.width - c.left - c.right, plotH = c.height - c.top - c.bottom;
    var chart = svg("svg", { viewBox: "0 0 " + c.width + " " + c.height, role: "img", class: "chart",
      "aria-label": "Frustration per customer turn, from 0 (calm) to 1 (very frustrated)" });
    var y = function (v) { return c.top + plotH * (1 - v); };
    [0, 0.5, 1].forEach(function (v) {
      chart.appendChild(svg("line", { x1: c.left, x2: c.width - c.right, y1: y(v), y2: y(v), class: "grid" }));
      chart.appendChild(svg("text", { x: c.left - 4, y: y(v) + 3, "text-anchor": "end", class: "tick" }, v.toFixed(1)));
    });
    chart.appendChild(svg("line", { x1: c.left, x2: c.width - c.right, y1: y(ALERT_LEVEL), y2: y(ALERT_LEVEL),
      class: "alert-level" }));
    var step = plotW / points.length, barW = Math.min(24, step * 0.7);
    points.forEach(function (p, i) {
      var x = c.left + step * i + (step - barW) / 2, h = Math.max(1, plotH * Math.min(p.smoothed, 1));
      var bar = svg("rect", { x: x, y: c.top + plotH - h, width: barW, height: h,
        class: p.smoothed >= ALERT_LEVEL ? "bar high" : "bar" });
      bar.appendChild(svg("title", {}, "Turn " + p.turn + ": frustration " + p.smoothed.toFixed(2)));
      chart.appendChild(bar);
      chart.appendChild(svg("text", { x: x + barW / 2, y: c.top + plotH + 12, "text-anchor": "middle",
        class: "tick" }, String(p.turn)));
    });
    chart.appendChild(svg("line", { x1: c.left, x2: c.left, y1: c.top, y2: c.top + plotH, class: "axis" }));
    chart.appendChild(svg("line", { x1: c.left, x2: c.width - c.right, y1: c.top + plotH, y2: c.top + plotH,
      class: "axis" }));
    chart.appendChild(svg("text", { x: c.left + plotW / 2, y: c.height - 4, "text-anchor": "middle",
      class: "axis-label", "data-testid": "console-chart-x" }, "Customer turn"));
    chart.appendChild(svg("text", { x: 10, y: c.top + plotH / 2, "text-anchor": "middle", class: "axis-label",
      transform: "rotate(-90 10 " + (c.top + plotH / 2) + ")", "data-testid": "console-chart-y" }, "Frustration"));
    box.appendChild(chart);
    box.appendChild(el("p", { class: "legend" }, "Smoothed frustration, 0 calm to 1 very frustrated; the dashed " +
      "line is where an alert opens."));
  }

  function renderOrders(customer) {
    var list = $("orders");
    list.textContent = "";
    if (!customer.customer_id) return list.appendChild(el("li", {}, "Not verified yet."));
    list.appendChild(el("li", {}, customer.customer_id));
    customer.orders.forEach(function (o) {
      list.appendChild(el("li", { "data-order-id": o.order_id }, o.order_id + " · " + o.status + " · $" + o.total +
        (o.mentioned ? " · discussed" : "") + " · " + o.items.map(function (i) { return i.name; }).join(", ")));
    });
  }

  function renderDrafts(drafts) {
    var list = $("drafts");
    list.textContent = "";
    drafts.forEach(function (d) {
      var item = el("li", { "data-testid": "console-draft" }, d.text);
      var use = el("button", { type: "button" }, "Use");
      use.addEventListener("click", function () {
        state.draft = d.text;  // sent with the reply: an edit of it is feedback for training (server/API.md)
        $("reply-text").value = d.text;
        $("reply-text").focus();
      });
      item.appendChild(use);
      list.appendChild(item);
    });
  }

  function renderActions(actions) {
    var list = $("actions");
    list.textContent = "";
    actions.forEach(function (a) {
      var item = el("li", { "data-testid": "console-action", "data-tool": a.tool });
      item.appendChild(el("span", {}, a.label));
      item.appendChild(el("span", { class: "kind" }, a.kind_text));
      var approve = el("button", { type: "button" }, "Approve");
      approve.addEventListener("click", function () { runAction(a); });
      item.appendChild(approve);
      list.appendChild(item);
    });
    if (!actions.length) list.appendChild(el("li", { class: "none" }, "Nothing to approve for this order's status."));
  }

  function runAction(action) {
    $("action-result").textContent = "Working on it: " + action.label + "…";
    api("/api/console/tickets/" + state.ticketId + "/actions", { method: "POST",
      body: { tool: action.tool, arguments: action.arguments } }).then(function (result) {
      $("action-result").textContent = result.ok ? "Done: " + action.label : "Refused: " + result.error;
      loadTicket(state.ticketId);
    }, function (error) { $("action-result").textContent = error.message; });
  }

  function ticketCommand(command) {
    $("ticket-error").textContent = "";
    return api("/api/console/tickets/" + state.ticketId + "/" + command, { method: "POST", body: {} })
      .then(function () { refresh(); }, function (error) { $("ticket-error").textContent = error.message; });
  }

  $("take").addEventListener("click", function () { ticketCommand("take"); });
  $("claim").addEventListener("click", function () { ticketCommand("claim"); });
  $("handback").addEventListener("click", function () { ticketCommand("handback"); });
  $("resolve").addEventListener("click", function () { ticketCommand("resolve"); });

  $("reply").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || state.ticketId === null) return;
    $("ticket-error").textContent = "";
    var body = state.draft ? { text: text, draft: state.draft } : { text: text };
    api("/api/console/tickets/" + state.ticketId + "/messages", { method: "POST", body: body })
      .then(function () { state.draft = null; $("reply-text").value = ""; loadTicket(state.ticketId); },
        function (error) { $("ticket-error").textContent = error.message; });
  });

  // --- assignment (supervisors) and held actions (risk control) ------------------------------------------------

  function loadStaff() {
    api("/api/console/staff").then(function (data) {
      var select = $("assign-to");
      select.textContent = "";
      data.staff.forEach(function (s) {
        select.appendChild(el("option", { value: s.staff_id }, s.display_name + " (" + s.role + ")"));
      });
    });
  }

  $("assign").addEventListener("click", function () {
    $("ticket-error").textContent = "";
    api("/api/console/tickets/" + state.ticketId + "/assign", { method: "POST", body: { staff_id: $("assign-to").value } })
      .then(function () { refresh(); }, function (error) { $("ticket-error").textContent = error.message; });
  });

  function loadHolds() {
    api("/api/console/holds").then(function (data) {
      var list = $("holds");
      list.textContent = "";
      data.holds.forEach(function (hold) {
        var item = el("li", { "data-testid": "console-hold", "data-hold-id": String(hold.id) });
        item.appendChild(el("span", {}, (hold.customer_id || "guest") + ": " + hold.summary));
        item.appendChild(el("span", { class: "reason" }, hold.rules.join(", ") + " · needs " + hold.approver));
        if (hold.can_decide) {
          item.appendChild(holdButton(hold, "approve", "Approve"));
          item.appendChild(holdButton(hold, "reject", "Reject"));
        }
        list.appendChild(item);
      });
      if (!data.holds.length) list.appendChild(el("li", {}, "Nothing is held."));
    });
  }

  function holdButton(hold, decision, label) {
    var button = el("button", { type: "button", "data-testid": "console-hold-" + decision }, label);
    button.addEventListener("click", function () {
      api("/api/console/holds/" + hold.id + "/" + decision, { method: "POST", body: {} }).then(function (result) {
        $("hold-result").textContent = "Held action #" + hold.id + ": " + result.status +
          (result.outcome ? " (" + result.outcome + ")" : "");
        loadHolds();
      }, function (error) { $("hold-result").textContent = error.message; });
    });
    return button;
  }

  if (state.token) start();
})();
