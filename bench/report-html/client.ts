/**
 * The report page's script, as text to inline: reads the embedded JSON and draws the four
 * charts. Plain ES5 in a string, as the live dashboard's client is, so the page needs no
 * bundler and runs from a file:// URL. The charts are kept on window.nudgeReport, where a
 * test (or a curious reader's console) can inspect them.
 */
export const REPORT_CLIENT_JS = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var report = { data: data, charts: {} };
  window.nudgeReport = report;
  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function fmt(n, digits) { return Number(n).toLocaleString('en', { maximumFractionDigits: digits === undefined ? 0 : digits, minimumFractionDigits: digits === undefined ? 0 : digits }); }
  function ms(us) { return us >= 1000 ? fmt(us / 1000, 1) + ' ms' : fmt(us) + ' µs'; }

  text('run', fmt(data.run.users) + ' users · ' + data.run.partitions + ' partitions · seed ' + data.run.seed + ' · ' + data.run.hours + ' simulated hours from ' + data.run.day + ' · ' + data.run.historyDays + (data.run.historyDays === 1 ? ' day' : ' days') + ' of history');
  text('kpi-total', fmt(data.timings.total, 1) + ' s');
  text('kpi-decisions', fmt(data.counts.decisions));
  text('kpi-sends', fmt(data.counts.sends));
  text('kpi-feedback', fmt(data.feedback.fed.click) + ' / ' + fmt(data.feedback.fed.conversion) + ' / ' + fmt(data.feedback.fed.opt_out));

  var lat = document.getElementById('latency-table');
  Object.keys(data.latency).forEach(function (kind) {
    var l = data.latency[kind];
    var tr = document.createElement('tr');
    [kind, fmt(l.batches), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max)].forEach(function (v, i) {
      var td = document.createElement('td'); td.textContent = v; if (i > 0) td.className = 'num'; tr.appendChild(td);
    });
    lat.appendChild(tr);
  });
  var qt = document.getElementById('quality-table');
  data.quality.forEach(function (q) {
    var tr = document.createElement('tr');
    [q.policy, fmt(q.sends), fmt(q.clicksPer1000, 1), fmt(q.conversionsPer1000, 2), fmt(q.optOutsPer1000, 2), fmt(q.costPerConversion, 2)].forEach(function (v, i) {
      var td = document.createElement('td'); td.textContent = v; if (i > 0) td.className = 'num'; tr.appendChild(td);
    });
    if (q.policy === 'nudge') tr.className = 'ours';
    qt.appendChild(tr);
  });

  if (typeof Chart === 'undefined') {
    var notes = document.querySelectorAll('.chart');
    for (var i = 0; i < notes.length; i++) notes[i].textContent = 'Charts need chart.js, which was not installed when this report was written.';
    return;
  }
  Chart.defaults.font.family = 'ui-sans-serif, system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
  Chart.defaults.animation = false;
  var BLUE = '#2f6fde', GREEN = '#1f9d6a', ORANGE = '#e08a1e', RED = '#d64541', GREY = '#8792a2';
  function series(key) { return data.throughput.map(function (s) { return { x: s.t, y: s[key] }; }); }
  report.charts.throughput = new Chart(document.getElementById('chart-throughput'), {
    type: 'line',
    data: { datasets: [
      { label: 'decisions/s', data: series('decisionsPerSec'), borderColor: BLUE, backgroundColor: BLUE, pointRadius: 0, borderWidth: 1.5, yAxisID: 'out' },
      { label: 'events/s', data: series('eventsPerSec'), borderColor: GREEN, backgroundColor: GREEN, pointRadius: 0, borderWidth: 1.5, yAxisID: 'y' },
      { label: 'sends/s', data: series('sendsPerSec'), borderColor: ORANGE, backgroundColor: ORANGE, pointRadius: 0, borderWidth: 1.5, yAxisID: 'out' }
    ] },
    // Events come in at ten times the rate of decisions: each gets its own axis so neither is flattened.
    options: { maintainAspectRatio: false, parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'seconds since the run started (wall clock)' } }, y: { beginAtZero: true, title: { display: true, text: 'events per second' } }, out: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'decisions and sends per second' } } } }
  });
  var kinds = Object.keys(data.latency);
  var colours = { all: GREY, records: BLUE, timers: ORANGE };
  report.charts.latency = new Chart(document.getElementById('chart-latency'), {
    type: 'line',
    data: { datasets: kinds.map(function (kind) {
      return { label: kind + ' batches', data: data.latency[kind].cdf.map(function (p) { return { x: Math.max(p[1], 1) / 1000, y: p[0] }; }), borderColor: colours[kind] || RED, backgroundColor: colours[kind] || RED, pointRadius: 2, borderWidth: 1.5, stepped: false };
    }) },
    options: { maintainAspectRatio: false, parsing: false, scales: { x: { type: 'logarithmic', title: { display: true, text: 'batch latency, ms (log scale)' } }, y: { min: 0, max: 100, title: { display: true, text: 'percentile' } } } }
  });
  var total = data.sendHours.sends.reduce(function (a, b) { return a + b; }, 0) || 1;
  var activityTotal = data.sendHours.activity.reduce(function (a, b) { return a + b; }, 0) || 1;
  var hours = []; for (var h = 0; h < 24; h++) hours.push((h < 10 ? '0' : '') + h + ':00');
  report.charts.hours = new Chart(document.getElementById('chart-hours'), {
    data: { labels: hours, datasets: [
      { type: 'bar', label: 'messages sent (share)', data: data.sendHours.sends.map(function (n) { return n / total; }), backgroundColor: BLUE },
      { type: 'line', label: "messaged users' true activity (share)", data: data.sendHours.activity.map(function (a) { return a / activityTotal; }), borderColor: GREEN, backgroundColor: GREEN, pointRadius: 0, borderWidth: 2, tension: 0.3 }
    ] },
    options: { maintainAspectRatio: false, scales: { x: { title: { display: true, text: "the user's local hour" } }, y: { beginAtZero: true, ticks: { callback: function (v) { return Math.round(v * 100) + '%'; } } } } }
  });
  var policies = data.quality.map(function (q) { return q.policy; });
  function metric(key) { return data.quality.map(function (q) { return q[key]; }); }
  report.charts.quality = new Chart(document.getElementById('chart-quality'), {
    type: 'bar',
    data: { labels: policies, datasets: [
      { label: 'clicks / 1,000', data: metric('clicksPer1000'), backgroundColor: BLUE, yAxisID: 'y' },
      { label: 'conversions / 1,000', data: metric('conversionsPer1000'), backgroundColor: GREEN, yAxisID: 'y' },
      { label: 'opt-outs / 1,000', data: metric('optOutsPer1000'), backgroundColor: RED, yAxisID: 'y' },
      { label: 'cost per conversion', data: metric('costPerConversion'), backgroundColor: GREY, yAxisID: 'cost' }
    ] },
    options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: 'per 1,000 messages' } }, cost: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'cost per conversion' } } } }
  });
})();
`;
