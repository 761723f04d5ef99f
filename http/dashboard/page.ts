/** The dashboard's markup and styles; scripts are inlined by buildDashboardHtml. */

export const STYLES = `
:root { color-scheme: dark; --bg: #0e1116; --card: #161b22; --line: #252c36; --text: #e6edf3; --muted: #8b96a5;
  --ok: #3ecf8e; --warn: #f2a93b; --bad: #f0625d; --blue: #4f8cff; --violet: #b07cff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 12px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: #0b0e13; position: sticky; top: 0; z-index: 2; }
.brand { font-weight: 700; font-size: 17px; letter-spacing: .2px; }
.brand span { color: var(--blue); font-weight: 600; }
.spacer { flex: 1; }
.muted { color: var(--muted); }
button { background: transparent; color: var(--muted); border: 1px solid var(--line); border-radius: 6px; padding: 3px 9px; font: inherit; font-size: 12px; cursor: pointer; }
button:hover { color: var(--text); }
.badge { border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 600; border: 1px solid var(--line); color: var(--muted); }
.badge.ok { color: var(--ok); border-color: rgba(62,207,142,.4); background: rgba(62,207,142,.08); }
.badge.warn { color: var(--warn); border-color: rgba(242,169,59,.4); background: rgba(242,169,59,.08); }
.badge.bad { color: var(--bad); border-color: rgba(240,98,93,.4); background: rgba(240,98,93,.08); }
#auth { max-width: 440px; margin: 48px auto; padding: 22px; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
#auth h2 { margin: 0 0 6px; font-size: 16px; }
#auth form { display: flex; gap: 8px; margin: 14px 0 8px; }
#auth input { flex: 1; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 7px 10px; font: inherit; }
#auth button[type=submit] { color: var(--text); background: var(--blue); border-color: var(--blue); padding: 6px 14px; font-size: 14px; }
#auth-message { color: var(--warn); min-height: 1em; margin: 0; }
main { padding: 16px 20px 28px; }
.kpis { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; margin-bottom: 12px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.kpi .value { font-size: 28px; font-weight: 700; font-variant-numeric: tabular-nums; margin-top: 2px; }
.kpi .sub { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; }
.card.wide { grid-column: span 2; }
.card.full { grid-column: 1 / -1; }
.card h2 { font-size: 13px; margin: 0 0 10px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .6px; }
.chart { position: relative; height: 240px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; }
caption { text-align: left; padding: 6px 0; }
.status-sent, .status-delivered, .status-accepted { color: var(--ok); }
.status-retrying { color: var(--warn); }
.status-failed, .status-dropped, .status-undelivered { color: var(--bad); }
.campaign { padding: 8px 0 10px; border-bottom: 1px solid var(--line); }
.campaign:last-child { border-bottom: 0; }
.campaign-title { display: flex; justify-content: space-between; gap: 8px; margin-bottom: 6px; }
.bar-row { display: grid; grid-template-columns: 56px 1fr 110px; align-items: center; gap: 8px; font-size: 12px; margin: 3px 0; }
.bar-label { color: var(--muted); }
.bar-text { color: var(--muted); text-align: right; font-variant-numeric: tabular-nums; }
.bar-track { height: 8px; border-radius: 4px; background: #222a35; overflow: hidden; }
.bar-fill { height: 100%; border-radius: 4px; }
.bar-fill.time { background: var(--blue); }
.bar-fill.budget { background: var(--ok); }
.bar-fill.ahead { background: var(--warn); }
.bar-fill.over { background: var(--bad); }
.parts { display: grid; grid-template-columns: repeat(auto-fill, minmax(86px, 1fr)); gap: 8px; }
.part { border-radius: 8px; padding: 8px 10px; border: 1px solid var(--line); }
.part.ready { background: rgba(62,207,142,.08); border-color: rgba(62,207,142,.35); }
.part.restoring { background: rgba(242,169,59,.09); border-color: rgba(242,169,59,.4); }
.part.down { background: rgba(240,98,93,.09); border-color: rgba(240,98,93,.4); }
.part-id { font-weight: 700; }
.part-state { font-size: 12px; color: var(--muted); }
.part-lag { font-size: 12px; font-variant-numeric: tabular-nums; }
#feed { list-style: none; margin: 0; padding: 0; font-size: 12px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.ev { display: grid; grid-template-columns: 70px 70px 140px 1fr; gap: 6px; padding: 3px 0; border-bottom: 1px dashed #1f2630; white-space: nowrap; }
.ev span { overflow: hidden; text-overflow: ellipsis; }
.ev-time { color: var(--muted); }
.ev-decision .ev-type { color: var(--blue); }
.ev-send .ev-type { color: var(--violet); }
.act-send { color: var(--ok); }
.act-schedule { color: var(--blue); }
.act-skip { color: var(--warn); }
.act-holdout { color: var(--violet); }
@media (max-width: 1100px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } .grid { grid-template-columns: 1fr; } .card.wide, .card.full { grid-column: auto; } }
`;

export const BODY = `
<header>
  <div class="brand">nudge <span>live</span></div>
  <div id="replica" class="muted">–</div>
  <div class="spacer"></div>
  <span id="ready" class="badge">–</span>
  <span id="conn" class="badge">offline</span>
  <button id="forget" type="button" title="Remove the token from this tab">forget token</button>
</header>
<section id="auth" hidden>
  <h2>Connect to the live stream</h2>
  <div class="muted">Paste the replica's API token (http.token), or open this page as <code>/#token=…</code>. It stays in this tab only.</div>
  <form id="auth-form" autocomplete="off"><input id="token-input" type="password" placeholder="bearer token" aria-label="API token"><button type="submit">Connect</button></form>
  <p id="auth-message"></p>
</section>
<main>
  <div class="kpis">
    <div class="kpi"><div class="label">Decisions / s</div><div class="value" id="kpi-dps">–</div><div class="sub" id="kpi-dps-sub"></div></div>
    <div class="kpi"><div class="label">Sends</div><div class="value" id="kpi-sends">–</div><div class="sub" id="kpi-sends-sub"></div></div>
    <div class="kpi"><div class="label">Partitions ready</div><div class="value" id="kpi-ready">–</div><div class="sub" id="kpi-ready-sub"></div></div>
    <div class="kpi"><div class="label">Consumer lag</div><div class="value" id="kpi-lag">–</div><div class="sub">records, all partitions</div></div>
    <div class="kpi"><div class="label">Live events</div><div class="value" id="kpi-events">0</div><div class="sub" id="kpi-events-sub">since this page opened</div></div>
  </div>
  <div class="grid">
    <section class="card wide"><h2>Decisions per second, by action</h2><div class="chart"><canvas id="chart-actions" aria-label="decisions per second by action"></canvas></div></section>
    <section class="card"><h2>Reasons</h2><div class="chart"><canvas id="chart-reasons" aria-label="decisions by reason"></canvas></div></section>
    <section class="card"><h2>Sends by provider and status</h2><table id="sends"></table></section>
    <section class="card"><h2>Campaigns: window and budget</h2><div id="campaigns"><p class="muted">Waiting for data…</p></div></section>
    <section class="card"><h2>Partitions: lag and restore</h2><div id="partitions" class="parts"></div></section>
    <section class="card full"><h2>Live decisions and sends</h2><ol id="feed"></ol></section>
  </div>
</main>
`;
