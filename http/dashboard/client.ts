/**
 * The dashboard's browser script, inlined into the page. Plain ES2017 with no imports:
 * the page must work offline, from one HTTP response. Kept as a string (String.raw, so
 * regexes need no double escaping) because the project compiles without DOM typings;
 * the headless-Chromium test is what checks it.
 *
 * Token: read from the URL fragment (`/#token=…`, never sent to the server), kept in
 * sessionStorage for this tab only, and removed from the address bar at once; without
 * one, the page asks for it. The WebSocket carries it as `?token=` because browsers
 * cannot set an Authorization header on a WebSocket.
 */
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var TOKEN_KEY = 'nudge.dashboard.token';
  var HISTORY = 90;
  var ACTION_COLORS = { send: '#3ecf8e', schedule: '#4f8cff', skip: '#f2a93b', holdout: '#b07cff' };
  var STATUS_ORDER = ['sent', 'delivered', 'accepted', 'retrying', 'undelivered', 'failed', 'dropped'];
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    token: null, ws: null, everOpened: false, failures: 0, retryMs: 1000,
    events: 0, eventsByType: {}, feed: [], dirty: false,
    labels: [], series: {}, snapshot: null
  };

  function fmt(n) {
    if (n === null || n === undefined || isNaN(n)) return '–';
    var abs = Math.abs(n);
    if (abs >= 1e9) return (n / 1e9).toFixed(1) + 'G';
    if (abs >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (abs >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(Math.round(n * 10) / 10);
  }
  function pad2(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ts) { var d = new Date(ts); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // ---- token -------------------------------------------------------------
  function readToken() {
    var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      var t = decodeURIComponent(m[1]);
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode: keep it in memory */ }
      // Out of the address bar, history and any screenshot of it.
      history.replaceState(null, '', location.pathname + location.search);
      return t;
    }
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function askToken(message) {
    $('auth').hidden = false;
    $('auth-message').textContent = message || '';
    $('token-input').focus();
  }
  $('auth-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token-input').value.trim();
    if (!t) return;
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* memory only */ }
    $('token-input').value = '';
    $('auth').hidden = true;
    state.token = t; state.failures = 0; state.everOpened = false;
    connect();
  });
  $('forget').addEventListener('click', function () {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
    state.token = null;
    if (state.ws) state.ws.close();
    askToken('Token forgotten.');
  });

  // ---- connection --------------------------------------------------------
  function setConn(text, cls) { var c = $('conn'); c.textContent = text; c.className = 'badge ' + cls; }
  function connect() {
    if (!state.token) { askToken(); return; }
    var url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/v1/live?token=' + encodeURIComponent(state.token);
    setConn('connecting', 'warn');
    var ws = new WebSocket(url);
    state.ws = ws;
    var opened = false;
    ws.onopen = function () { opened = true; state.everOpened = true; state.failures = 0; state.retryMs = 1000; setConn('live', 'ok'); };
    ws.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      onMessage(msg);
    };
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      setConn('disconnected', 'bad');
      if (!state.token) return;
      if (!opened) state.failures++;
      // A refused upgrade looks like any failure to a browser; twice in a row before
      // ever getting in means the token, most likely.
      if (!state.everOpened && state.failures >= 2) { askToken('The server refused the connection: check the token.'); return; }
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 10000);
    };
  }

  function onMessage(msg) {
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'stats') { onStats(msg); return; }
    state.events++;
    state.eventsByType[msg.type] = (state.eventsByType[msg.type] || 0) + 1;
    state.feed.unshift(msg);
    if (state.feed.length > 12) state.feed.length = 12;
    state.dirty = true;
  }

  // ---- charts ------------------------------------------------------------
  var charts = null;
  function makeCharts() {
    if (typeof Chart === 'undefined') {
      var notes = document.querySelectorAll('.chart');
      for (var i = 0; i < notes.length; i++) { clear(notes[i]); notes[i].appendChild(el('p', 'muted', 'Charts need chart.js, which is not installed on this replica.')); }
      return null;
    }
    Chart.defaults.color = '#9aa4b2';
    Chart.defaults.borderColor = 'rgba(255,255,255,0.07)';
    Chart.defaults.font.family = 'ui-sans-serif, system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
    var actions = new Chart($('chart-actions'), {
      type: 'line',
      data: { labels: state.labels, datasets: [] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
        interaction: { mode: 'index', intersect: false },
        elements: { point: { radius: 0 }, line: { tension: 0.25, borderWidth: 2 } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true, stacked: false } },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 10, boxHeight: 10 } } }
      }
    });
    var reasons = new Chart($('chart-reasons'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'decisions', data: [], backgroundColor: '#f2a93b', borderRadius: 3 }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, indexAxis: 'y',
        scales: { x: { beginAtZero: true }, y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false } }
      }
    });
    return { actions: actions, reasons: reasons };
  }

  function onStats(msg) {
    var s = msg.snapshot;
    if (!s) return;
    state.snapshot = s;
    state.labels.push(clock(msg.ts));
    if (state.labels.length > HISTORY) state.labels.shift();
    var keys = Object.keys(s.decisionsPerSecond || {});
    for (var k in state.series) if (keys.indexOf(k) < 0) keys.push(k);
    keys.forEach(function (key) {
      var arr = state.series[key];
      if (!arr) { arr = state.series[key] = []; for (var i = 1; i < state.labels.length; i++) arr.push(null); }
      arr.push((s.decisionsPerSecond || {})[key] || 0);
      if (arr.length > HISTORY) arr.shift();
    });
    renderStats(s);
  }

  function renderStats(s) {
    $('replica').textContent = s.replica;
    var ready = $('ready');
    ready.textContent = s.ready ? 'ready' : 'not ready';
    ready.className = 'badge ' + (s.ready ? 'ok' : 'bad');

    var dps = s.decisionsPerSecond || {};
    var total = 0; for (var a in dps) total += dps[a];
    $('kpi-dps').textContent = fmt(total);
    var sends = 0, failed = 0;
    var byProvider = s.sendsByProvider || {};
    for (var p in byProvider) for (var st in byProvider[p]) { sends += byProvider[p][st]; if (st === 'failed' || st === 'dropped' || st === 'undelivered') failed += byProvider[p][st]; }
    $('kpi-sends').textContent = fmt(sends);
    $('kpi-sends-sub').textContent = sends ? fmt(100 * failed / sends) + '% failed or dropped' : 'no sends yet';
    var parts = s.partitions || [];
    var readyCount = parts.filter(function (x) { return x.ready; }).length;
    $('kpi-ready').textContent = readyCount + ' / ' + parts.length;
    $('kpi-ready-sub').textContent = parts.filter(function (x) { return x.restoring; }).length + ' restoring';
    $('kpi-lag').textContent = fmt(parts.reduce(function (n, x) { return n + (x.lag || 0); }, 0));
    $('kpi-dps-sub').textContent = Object.keys(dps).map(function (k) { return k + ' ' + fmt(dps[k]); }).join(' · ');

    if (charts) {
      charts.actions.data.labels = state.labels;
      charts.actions.data.datasets = Object.keys(state.series).map(function (key) {
        var color = ACTION_COLORS[key] || '#8aa';
        return { label: key, data: state.series[key], borderColor: color, backgroundColor: color };
      });
      charts.actions.update('none');
      var rs = Object.keys(s.reasons || {}).map(function (k) { return [k, s.reasons[k]]; }).sort(function (x, y) { return y[1] - x[1]; }).slice(0, 10);
      charts.reasons.data.labels = rs.map(function (r) { return r[0]; });
      charts.reasons.data.datasets[0].data = rs.map(function (r) { return r[1]; });
      charts.reasons.update('none');
    }
    renderSends(byProvider);
    renderCampaigns(s.campaigns || [], Date.now());
    renderPartitions(parts);
  }

  function renderSends(byProvider) {
    var table = $('sends'); clear(table);
    var providers = Object.keys(byProvider).sort();
    if (!providers.length) { table.appendChild(el('caption', 'muted', 'No sends yet.')); return; }
    var statuses = [];
    providers.forEach(function (p) { Object.keys(byProvider[p]).forEach(function (st) { if (statuses.indexOf(st) < 0) statuses.push(st); }); });
    statuses.sort(function (a, b) { var ia = STATUS_ORDER.indexOf(a), ib = STATUS_ORDER.indexOf(b); return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib); });
    var head = el('tr'); head.appendChild(el('th', '', 'provider'));
    statuses.forEach(function (st) { head.appendChild(el('th', 'num status-' + st, st)); });
    table.appendChild(head);
    providers.forEach(function (p) {
      var tr = el('tr'); tr.appendChild(el('td', 'provider', p));
      statuses.forEach(function (st) { var v = byProvider[p][st]; tr.appendChild(el('td', 'num' + (v ? ' status-' + st : ' muted'), v ? fmt(v) : '·')); });
      table.appendChild(tr);
    });
  }

  function bar(label, fraction, cls, text) {
    var row = el('div', 'bar-row');
    row.appendChild(el('span', 'bar-label', label));
    var track = el('div', 'bar-track');
    var fill = el('div', 'bar-fill ' + cls);
    fill.style.width = (Math.max(0, Math.min(1, fraction)) * 100).toFixed(1) + '%';
    track.appendChild(fill);
    row.appendChild(track);
    row.appendChild(el('span', 'bar-text', text));
    return row;
  }

  function renderCampaigns(campaigns, now) {
    var box = $('campaigns'); clear(box);
    if (!campaigns.length) { box.appendChild(el('p', 'muted', 'No active campaigns.')); return; }
    campaigns.forEach(function (c) {
      var card = el('div', 'campaign');
      var title = el('div', 'campaign-title');
      title.appendChild(el('strong', '', c.campaignId));
      title.appendChild(el('span', 'muted', fmt(c.decided) + ' decided · ' + fmt(c.sent) + ' sent'));
      card.appendChild(title);
      var span = Math.max(1, c.windowEnd - c.windowStart);
      var elapsed = (now - c.windowStart) / span;
      var left = c.windowEnd - now;
      var windowText = now < c.windowStart ? 'opens in ' + dur(c.windowStart - now) : left > 0 ? dur(left) + ' left' : 'closed';
      card.appendChild(bar('window', elapsed, 'time', windowText));
      if (c.budgetSends) {
        var used = c.sent / c.budgetSends;
        // Spending faster than the window elapses runs the budget out before the end.
        var cls = used >= 1 ? 'over' : used > elapsed + 0.1 ? 'ahead' : 'budget';
        card.appendChild(bar('budget', used, cls, fmt(c.sent) + ' / ' + fmt(c.budgetSends)));
      } else {
        card.appendChild(bar('budget', 0, 'budget', 'no send cap'));
      }
      box.appendChild(card);
    });
  }
  function dur(ms) {
    var s = Math.round(ms / 1000);
    if (s < 90) return s + ' s';
    var m = Math.round(s / 60);
    if (m < 90) return m + ' min';
    return (m / 60).toFixed(1) + ' h';
  }

  function renderPartitions(parts) {
    var box = $('partitions'); clear(box);
    if (!parts.length) { box.appendChild(el('p', 'muted', 'No partitions assigned.')); return; }
    parts.slice().sort(function (a, b) { return a.partition - b.partition; }).forEach(function (p) {
      var cls = p.restoring ? 'restoring' : p.ready ? 'ready' : 'down';
      var tile = el('div', 'part ' + cls);
      tile.appendChild(el('div', 'part-id', 'P' + p.partition));
      tile.appendChild(el('div', 'part-state', p.restoring ? 'restoring' : p.ready ? 'running' : 'not ready'));
      tile.appendChild(el('div', 'part-lag', 'lag ' + fmt(p.lag)));
      tile.title = 'partition ' + p.partition + ': lag ' + p.lag;
      box.appendChild(tile);
    });
  }

  // Events can arrive thousands a second: the DOM is touched at most four times a second.
  function flush() {
    if (!state.dirty) return;
    state.dirty = false;
    $('kpi-events').textContent = fmt(state.events);
    $('kpi-events-sub').textContent = Object.keys(state.eventsByType).map(function (k) { return k + ' ' + fmt(state.eventsByType[k]); }).join(' · ');
    var feed = $('feed'); clear(feed);
    state.feed.forEach(function (e) {
      var li = el('li', 'ev ev-' + e.type);
      li.appendChild(el('span', 'ev-time', clock(e.ts)));
      li.appendChild(el('span', 'ev-type', e.type));
      li.appendChild(el('span', 'ev-campaign', String(e.campaignId).slice(0, 24)));
      var what = e.type === 'decision'
        ? e.action + (e.channel ? ' · ' + e.channel : '') + (e.reasons && e.reasons.length ? ' — ' + e.reasons.join(', ') : '')
        : e.type === 'send' ? e.provider + ' · ' + e.status : '';
      li.appendChild(el('span', 'ev-what ' + (e.action ? 'act-' + e.action : e.status ? 'status-' + e.status : ''), what));
      feed.appendChild(li);
    });
  }
  setInterval(flush, 250);

  charts = makeCharts();
  state.token = readToken();
  connect();
})();
`;
