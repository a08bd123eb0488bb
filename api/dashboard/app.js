// Operator console: reads the EMS API with an operator key; no build step. Live updates come from
// /v1/stream (server-sent events, read with fetch so the key travels in a header, not the URL).
// The key comes from the URL fragment (#key=...) or the form, and is kept in sessionStorage only.
// Text goes through _("English msgid") (gettext catalogues, docs/i18n.md); the language is the
// switch's choice (localStorage), else ?lang=, else the park file's default.
"use strict";

const LANGS = ["en", "zh-CN"];
let LANG = "en";
let MESSAGES = {};
// translated text of an English msgid, with {name} placeholders filled
function _(msgid, params) {
  const text = MESSAGES[msgid] || msgid;
  return params ? text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? params[k] : m)) : text;
}
const N_ = (msgid) => msgid;  // marks API values translated where shown
// values the API sends as keys or English names, shown translated
const API_TEXT = [
  N_("ok"), N_("degraded"), N_("offline"), N_("live"), N_("stale"), N_("never"), N_("silent"),
  N_("pv"), N_("wind"), N_("battery"), N_("load"), N_("meter"),
  N_("optimal"), N_("feasible"), N_("fallback"), N_("baseline"), N_("lexicographic"), N_("weighted"),
  N_("CO₂ per unit of energy"), N_("clean-energy share"), N_("direct green supply share"),
  N_("energy consumption"), N_("energy consumption, annualised"), N_("CO₂ emissions"), N_("share"),
  N_("mpc"), N_("day_ahead"), N_("info"), N_("warning"), N_("critical"),
  N_("voltage_low"), N_("voltage_high"), N_("line_loading"), N_("trafo_loading"), N_("import_limit"), N_("export_limit"),
];
const shown = (value) => (API_TEXT.includes(value) ? _(value) : value);

function chosenLanguage(parkDefault) {
  const q = new URLSearchParams(location.search).get("lang");
  const saved = localStorage.getItem("ems-lang");
  return [q, saved, parkDefault].find((l) => LANGS.includes(l)) || "en";
}

async function setLanguage(lang) {
  if (lang !== LANG) {
    MESSAGES = lang === "en" ? {} : (await (await fetch(`i18n/${lang}.json`)).json()).messages;
    LANG = lang;
  }
  document.documentElement.lang = lang;
  document.getElementById("lang").value = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    if (!el.dataset.msgid) el.dataset.msgid = el.textContent.replace(/\s+/g, " ").trim();
    el.textContent = _(el.dataset.msgid);
  });
  document.querySelectorAll(".chart").forEach((el) => { el.dataset.empty = _("no data yet"); });
}

const COLORS = {
  pv: "#f5b301", wind: "#3aa0d8", direct_green: "#2e9e5b", contract: "#7cc47f",
  grid: "#9aa3ad", battery: "#8e5bd0", load: "#111827", soc: "#8e5bd0",
  curtail: "#e4572e", location: "#b91c1c", market: "#2e9e5b", forecast: "#3aa0d8", actual: "#111827",
  re: "#2e9e5b", baseline: "#9aa3ad", import: "#334155",
};
const PERIOD_SHADE = { critical_peak: "rgba(185,28,28,0.22)", peak: "rgba(228,87,46,0.16)", flat: "rgba(0,0,0,0)", valley: "rgba(58,160,216,0.16)" };

function apiKey() {
  const m = location.hash.match(/key=([^&]+)/);
  if (m) { sessionStorage.setItem("ems-key", decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname); }
  return sessionStorage.getItem("ems-key");
}

async function get(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + apiKey(), "Accept-Language": LANG } });
  if (r.status === 401 || r.status === 403) { showKeyForm(); throw new Error("unauthorised"); }
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function showKeyForm() {
  const f = document.getElementById("key-form");
  f.hidden = false;
  f.onsubmit = (e) => { e.preventDefault(); sessionStorage.setItem("ems-key", document.getElementById("key-input").value.trim()); location.reload(); };
}

const secs = (iso) => Date.parse(iso) / 1000;
const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toLocaleString(LANG, { maximumFractionDigits: d, minimumFractionDigits: d });

function width(el) { return Math.max(200, el.clientWidth || el.parentElement.clientWidth - 20); }

let PARK_TZ = "Asia/Shanghai";

// x-axis ticks in park time, 24-hour clock, the date at midnight (no "am/pm" in any language)
function timeTick(ts) {
  const d = new Date(ts * 1e3);
  const hm = d.toLocaleTimeString(LANG, { timeZone: PARK_TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return hm === "00:00" ? d.toLocaleDateString(LANG, { timeZone: PARK_TZ, month: "numeric", day: "numeric" }) : hm;
}

const CHARTS = {};  // element id -> uPlot instance (read by the browser tests)
window.EMS_CHARTS = CHARTS;

function plot(el, opts, data, height = 260) {
  el.dataset.state = "drawn";
  el.innerHTML = "";
  if (CHARTS[el.id]) CHARTS[el.id].destroy();
  const base = {
    width: width(el), height, legend: { live: false },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), PARK_TZ),  // axes in the park's time zone
    axes: [{ values: (u, splits) => splits.map(timeTick) }, { size: 60 }],
  };
  const u = new uPlot(Object.assign(base, opts), data, el);
  CHARTS[el.id] = u;
  return u;
}

// Stack series so that area i fills between cumulative sums i-1 and i.
function stacked(xs, layers) {
  const cum = xs.map(() => 0);
  const data = [xs];
  const series = [{}];
  layers.forEach((l) => {
    const ys = l.values.map((v, i) => (cum[i] += Math.max(0, v || 0)));
    data.push(ys.slice());
    series.push({ label: l.label, stroke: l.color, fill: l.color + "cc", width: 1, value: (u, v) => fmt(v, 0) });
  });
  const bands = layers.slice(1).map((_, i) => ({ series: [i + 2, i + 1] }));
  return { data, series, bands };
}

function periodShading(xs, periods) {
  return {
    hooks: {
      drawClear: [(u) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        for (let i = 0; i < xs.length; i++) {
          const fill = PERIOD_SHADE[periods[i]];
          if (!fill || fill.endsWith("0)")) continue;
          const x0 = u.valToPos(xs[i], "x", true);
          const x1 = u.valToPos(i + 1 < xs.length ? xs[i + 1] : xs[i] + (xs[1] - xs[0]), "x", true);
          ctx.fillStyle = fill;
          ctx.fillRect(x0, top, x1 - x0, height);
        }
      }],
    },
  };
}

function kpi(label, value, baseline) {
  return `<div class="kpi"><div class="v">${value}</div><div class="l">${label}</div>` +
    (baseline !== undefined ? '<div class="b">' + _("rule-based: {value}", { value: baseline }) + "</div>" : "") + "</div>";
}

const parkTime = (iso, opts) => new Date(iso).toLocaleString(LANG, Object.assign({ timeZone: PARK_TZ, hourCycle: "h23" }, opts || {}));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function ago(ageS) {
  if (ageS === null || ageS === undefined) return "";
  if (ageS < 120) return _("{n} s ago", { n: Math.round(ageS) });
  if (ageS < 7200) return _("{n} min ago", { n: Math.round(ageS / 60) });
  if (ageS < 172800) return _("{n} h ago", { n: fmt(ageS / 3600, 1) });
  return _("{n} d ago", { n: fmt(ageS / 86400, 1) });
}

async function loadSchedule() {
  const s = await get("/v1/schedules/current");
  const iv = s.intervals;
  const xs = iv.start.map(secs);
  const mw = (a) => a.map((v) => v / 1000);
  const layers = [
    { label: _("PV"), values: mw(iv.pv_kw), color: COLORS.pv },
    { label: _("wind"), values: mw(iv.wind_kw), color: COLORS.wind },
    { label: _("direct green"), values: mw(iv.direct_green_kw), color: COLORS.direct_green },
    { label: _("green contract"), values: mw(iv.contract_kw), color: COLORS.contract },
    { label: _("grid mix"), values: mw(iv.grid_mix_kw), color: COLORS.grid },
    { label: _("battery discharge"), values: iv.battery_kw.map((v) => Math.max(0, v) / 1000), color: COLORS.battery },
  ];
  const st = stacked(xs, layers);
  st.data.push(iv.load_kw.map((v, i) => (v + Math.max(0, -iv.battery_kw[i])) / 1000));
  st.series.push({ label: _("load + charging"), stroke: COLORS.load, width: 2, value: (u, v) => fmt(v, 2) });
  plot(document.getElementById("chart-supply"), Object.assign({ series: st.series, bands: st.bands, scales: { x: { time: true } } },
    periodShading(xs, iv.period)), st.data);
  plot(document.getElementById("chart-plan-soc"), { series: [{}, { label: _("SOC %"), stroke: COLORS.soc, width: 2 }], scales: { y: { range: [0, 100] } } },
    [xs, iv.soc.map((v) => 100 * v)]);
  plot(document.getElementById("chart-curtail"), { series: [{}, { label: _("curtailed kW"), stroke: COLORS.curtail, fill: COLORS.curtail + "55" }] },
    [xs, iv.curtailment_kw]);
  document.getElementById("schedule-meta").textContent =
    _("schedule {id} · planned {time} · {status}", { id: s.schedule_id, time: s.created_at ? parkTime(s.created_at) : "–", status: shown(s.status) }) +
    (s.fallback_reason ? " · " + _("fallback: {reason}", { reason: s.fallback_reason }) : "") +
    " · " + _("objective: {objective}", { objective: shown(s.objective) });
  const k = s.kpis, b = s.baseline_kpis || {};
  document.getElementById("kpis").innerHTML =
    kpi(_("local renewable consumption"), fmt(100 * k.local_re_consumption_ratio) + " %", b.local_re_consumption_ratio !== undefined ? fmt(100 * b.local_re_consumption_ratio) + " %" : undefined) +
    kpi(_("green share"), fmt(100 * k.green_share) + " %", b.green_share !== undefined ? fmt(100 * b.green_share) + " %" : undefined) +
    kpi(_("cost (CNY)"), fmt(k.cost_cny, 0), b.cost_cny !== undefined ? fmt(b.cost_cny, 0) : undefined) +
    kpi(_("emissions (tCO₂)"), fmt(k.emissions_kg / 1000, 2), b.emissions_kg !== undefined ? fmt(b.emissions_kg / 1000, 2) : undefined) +
    kpi(_("peak import (MW)"), fmt(k.peak_import_kw / 1000, 2), b.peak_import_kw !== undefined ? fmt(b.peak_import_kw / 1000, 2) : undefined) +
    kpi(_("curtailment (MWh)"), fmt(k.curtailed_kwh / 1000, 2), b.curtailed_kwh !== undefined ? fmt(b.curtailed_kwh / 1000, 2) : undefined);
  return s;
}

// measured (solid) vs planned (dashed) vs rule-based baseline (dotted) of one quantity
function compare(id, view, values, color, range) {
  const xs = view.time.map(secs);
  const opts = {
    series: [{},
      { label: _("measured"), stroke: color, width: 2, value: (u, v) => fmt(v, 0) },
      { label: _("plan"), stroke: color, width: 1.5, dash: [6, 4], value: (u, v) => fmt(v, 0) },
      { label: _("rule-based"), stroke: COLORS.baseline, width: 1.5, dash: [2, 3], value: (u, v) => fmt(v, 0) }],
    scales: Object.assign({ x: { time: true } }, range ? { y: { range } } : {}),
  };
  plot(document.getElementById(id), opts, [xs, values(view.measured), values(view.planned), values(view.baseline)], 200);
}

let VIEW = null;
const NAV = { span: "day", date: null };

async function loadView() {
  const q = new URLSearchParams({ span: NAV.span });
  if (NAV.date) q.set("date", NAV.date);
  const v = await get("/v1/console/view?" + q);
  VIEW = v;
  NAV.date = v.date;
  document.getElementById("span").value = v.span;
  document.getElementById("date").value = v.date;
  const last = new Date(Date.parse(v.end) - 1000).toISOString();
  document.getElementById("period-label").textContent = v.span === "day"
    ? parkTime(v.start, { year: "numeric", month: "long", day: "numeric", weekday: "short", hour: undefined, hourCycle: undefined })
    : parkTime(v.start, { year: "numeric", month: "short", day: "numeric", hourCycle: undefined }) + " – " +
      parkTime(last, { year: "numeric", month: "short", day: "numeric", hourCycle: undefined });
  const re = (s) => s.pv_kw.map((p, i) => (p === null && s.wind_kw[i] === null ? null : (p || 0) + (s.wind_kw[i] || 0)));
  compare("chart-grid", v, (s) => s.grid_import_kw, COLORS.import);
  compare("chart-re", v, re, COLORS.re);
  compare("chart-battery", v, (s) => s.battery_kw, COLORS.battery);
  compare("chart-soc", v, (s) => s.soc_pct, COLORS.soc, [0, 100]);
  compare("chart-load", v, (s) => s.load_kw, COLORS.load);
  document.getElementById("view-meta").textContent =
    _("{n} readings · {minutes}-minute means · plan: {plan}", { n: v.samples.toLocaleString(LANG), minutes: v.bucket_minutes, plan: v.plan_kind ? shown(v.plan_kind) : _("none stored") });
  const period = { start: v.start, end: v.end };
  await Promise.all([
    loadCarbon(period).catch((e) => console.info(e.message)),
    loadForecast(period).catch((e) => console.info(e.message)),
  ]);
}

async function loadCarbon(period) {
  const res = (Date.parse(period.end) - Date.parse(period.start)) > 8 * 86400e3 ? "day" : "hour";
  const q = `start=${encodeURIComponent(period.start)}&end=${encodeURIComponent(period.end)}&resolution=${res}`;
  const [loc, mkt] = await Promise.all([get(`/v1/carbon/factors?${q}&method=location`), get(`/v1/carbon/factors?${q}&method=market`)]);
  const xs = loc.data.map((p) => secs(p.from));
  plot(document.getElementById("chart-ef"), {
    series: [{}, { label: _("location-based"), stroke: COLORS.location, width: 2 }, { label: _("market-based"), stroke: COLORS.market, width: 2 }],
    scales: { x: { time: true } },
  }, [xs, loc.data.map((p) => p.value_g_per_kwh), mkt.data.map((p) => p.value_g_per_kwh)]);
  const ind = await get(`/v1/carbon/indicators?start=${encodeURIComponent(period.start)}&end=${encodeURIComponent(period.end)}`);
  const rows = ind.rows.map((r) => `<tr><td>${shown(r.name)}</td><td class="num">${r.value ?? "–"}</td><td>${shown(r.unit)}</td>` +
    `<td>${r.threshold ?? ""}</td><td class="${r.meets === false ? "gap-bad" : r.meets ? "gap-good" : ""}">${r.gap ?? ""}</td></tr>`);
  document.querySelector("#indicators tbody").innerHTML =
    `<tr><th>${_("indicator")}</th><th>${_("value")}</th><th>${_("unit")}</th><th>${_("threshold")}</th><th>${_("gap")}</th></tr>` + rows.join("");
}

async function loadForecast(period) {
  const f = await get(`/v1/forecasts/plan-vs-actual?start=${encodeURIComponent(period.start)}&end=${encodeURIComponent(period.end)}`);
  const xs = f.start.map(secs);
  plot(document.getElementById("chart-forecast"), {
    series: [{}, { label: _("forecast load MW"), stroke: COLORS.forecast, width: 2, dash: [6, 4] }, { label: _("measured load MW"), stroke: COLORS.actual, width: 2 }],
    scales: { x: { time: true } },
  }, [xs, f.forecast_load_kw.map((v) => v === null ? null : v / 1000), f.actual_load_kw.map((v) => v === null ? null : v / 1000)]);
}

// the park's carbon factor now (newest measured hour of the last day, else of the viewed period, its
// time shown) and the newest plan's forecast ahead
async function loadIntensity() {
  const now = Date.now(), hour = 3600e3;
  const history = async (start, end) =>
    (await get(`/v1/carbon/intensity?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`)).history.filter((p) => p.carbonIntensity !== null);
  const [recent, fc] = await Promise.all([
    history(new Date(now - 24 * hour - (now % hour)).toISOString(), new Date(now - (now % hour) + hour).toISOString()),
    get("/v1/carbon/intensity/forecast"),
  ]);
  const measured = recent.length || !VIEW ? recent : await history(VIEW.start, new Date(Math.min(Date.parse(VIEW.end), now - (now % hour) + hour)).toISOString());
  const latest = measured[measured.length - 1];
  const ahead = fc.forecast.filter((p) => Date.parse(p.datetime) + hour > now && p.carbonIntensity !== null);
  const current = latest || ahead[0];
  document.getElementById("carbon-now").innerHTML = current
    ? `<span class="v">${fmt(current.carbonIntensity, 0)}</span> gCO₂/kWh <span class="meta">${esc(
      (latest ? _("measured") : _("forecast")) + " · " + parkTime(current.datetime, { year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }))}</span>`
    : `<span class="meta">${_("no data yet")}</span>`;
  const points = measured.map((p) => [secs(p.datetime), p.carbonIntensity, null]).concat(ahead.map((p) => [secs(p.datetime), null, p.carbonIntensity]));
  if (!points.length) return;
  plot(document.getElementById("chart-intensity"), {
    series: [{}, { label: _("measured"), stroke: COLORS.actual, width: 2 }, { label: _("forecast"), stroke: COLORS.forecast, width: 2, dash: [6, 4] }],
    scales: { x: { time: true, range: (u, lo, hi) => [lo - 3600, hi + 3600] } },  // a single hour stays an hour wide
  }, [points.map((p) => p[0]), points.map((p) => p[1]), points.map((p) => p[2])], 180);
}

async function loadGrid() {
  const g = await get("/v1/grid/status").catch((e) => {
    document.getElementById("grid-status").textContent = _("grid status unavailable");
    throw e;
  });
  const maxOf = (o) => Math.max(0, ...Object.values(o));
  document.getElementById("grid-status").textContent = [
    g.time ? _("as of {time}", { time: parkTime(g.time) }) : _("not computed yet"),
    _("exchange {kw} kW", { kw: fmt(g.grid_exchange_kw, 0) }),
    _("highest line loading {pct} %", { pct: fmt(maxOf(g.line_loading_percent), 0) }),
    _("highest transformer loading {pct} %", { pct: fmt(maxOf(g.trafo_loading_percent), 0) }),
  ].join(" · ");
  document.querySelector("#violations tbody").innerHTML = g.violations.length
    ? `<tr><th>${_("violation")}</th><th>${_("element")}</th><th>${_("value")}</th><th>${_("limit")}</th></tr>` +
      g.violations.map((x) => `<tr class="offline"><td>${esc(shown(x.kind))}</td><td>${esc(x.element)}</td><td class="num">${fmt(x.value, 2)}</td><td class="num">${fmt(x.limit, 2)}</td></tr>`).join("")
    : `<tr><td class="ok">${_("no violations")}</td></tr>`;
}

async function loadAlerts() {
  const alerts = await get("/v1/alerts?open=true&limit=50");
  const tbody = document.querySelector("#alerts tbody");
  tbody.innerHTML = alerts.length ? alerts.map((a) =>
    `<tr data-alert="${a.id}"><td class="sev-${esc(a.severity)}">${esc(shown(a.severity))}</td><td>${esc(a.message)}</td>` +
    `<td>${parkTime(a.raised_at, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" })}</td><td>` +
    (a.acked_at ? esc(_("acknowledged by {who}", { who: a.acked_by || "" })) : `<button type="button" class="ack">${_("acknowledge")}</button>`) +
    "</td></tr>").join("")
    : `<tr><td class="ok">${_("no active alerts")}</td></tr>`;
  tbody.querySelectorAll("button.ack").forEach((b) => {
    b.onclick = async () => {
      const id = b.closest("tr").dataset.alert;
      b.disabled = true;
      const r = await fetch(`/v1/alerts/${id}/ack`, { method: "POST", headers: { Authorization: "Bearer " + apiKey(), "Content-Type": "application/json" }, body: JSON.stringify({ note: "" }) });
      if (!r.ok) console.info("ack: HTTP " + r.status);
      await loadAlerts();
    };
  });
}

async function loadDevices() {
  const live = await get("/v1/console/devices");
  document.querySelector("#devices tbody").innerHTML = live.devices.map((d) =>
    `<tr data-device="${esc(d.id)}"><td title="${esc(d.name)}">${esc(d.id)}</td><td>${esc(shown(d.type))}</td><td class="state ${esc(d.state)}">${esc(shown(d.state))}</td>` +
    `<td class="num p">${d.p_kw === null ? "–" : fmt(d.p_kw, 1)}</td><td class="seen">${d.last_seen ? parkTime(d.last_seen) + " · " + ago(d.age_s) : _("never")}</td></tr>`).join("");
  document.querySelector("#gateways tbody").innerHTML = live.gateways.map((g) =>
    `<tr><td title="${esc(g.devices.join(", "))}">${esc(g.id)}</td><td class="${esc(g.state)}">${esc(shown(g.state))}</td>` +
    `<td>${g.last_seen ? parkTime(g.last_seen) + " · " + ago(g.age_s) : _("never")}</td></tr>`).join("");
}

// a reading from the stream: the device's row shows it at once; charts follow on the next view refresh
function onReading(r) {
  const row = document.querySelector(`#devices tr[data-device="${CSS.escape(r.device)}"]`);
  if (!row) return;
  if (r.quantity === "p_kw") row.querySelector(".p").textContent = fmt(r.value, 1);
  row.querySelector(".seen").textContent = parkTime(r.time) + " · " + ago(Math.max(0, (Date.now() - Date.parse(r.time)) / 1000));
  const st = row.querySelector(".state");
  if (st.classList.contains("stale") || st.classList.contains("never")) { st.className = "state live"; st.textContent = _("live"); }
  if (VIEW && Date.parse(r.time) >= Date.parse(VIEW.start) && Date.parse(r.time) < Date.parse(VIEW.end)) VIEW_DIRTY = true;
}

let VIEW_DIRTY = false;
function setLive(state) {
  document.getElementById("live").dataset.state = state;
  document.getElementById("live-text").textContent = { open: _("live"), connecting: _("connecting…"), lost: _("reconnecting…") }[state];
  document.body.dataset.live = state;
}

async function stream() {
  for (;;) {
    try {
      const r = await fetch("/v1/stream", { headers: { Authorization: "Bearer " + apiKey() } });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const name = (block.match(/^event: (.*)$/m) || [])[1];
          const data = (block.match(/^data: (.*)$/m) || [])[1];
          if (!name) continue;  // a heartbeat comment
          const ev = JSON.parse(data);
          if (name === "hello") setLive("open");
          else if (name === "reading") onReading(ev);
          else if (name === "plan") { loadSchedule().catch(() => {}); VIEW_DIRTY = true; }
          else if (name === "alerts") loadAlerts().catch(() => {});
        }
      }
    } catch (e) { /* shown as "reconnecting"; the loop retries */ }
    setLive("lost");
    await new Promise((res) => setTimeout(res, 2000));
  }
}

function go(patch) {
  Object.assign(NAV, patch);
  loadView().catch((e) => console.info(e.message));
}

async function main() {
  document.getElementById("lang").onchange = (e) => { localStorage.setItem("ems-lang", e.target.value); location.reload(); };
  await setLanguage(chosenLanguage(null));
  if (!apiKey()) { showKeyForm(); return; }
  const park = await get("/v1/park");
  await setLanguage(chosenLanguage(park.language));
  PARK_TZ = park.timezone;
  document.getElementById("park-name").textContent = park.name;
  document.title = park.name + " — EMS";
  const tick = () => { document.getElementById("clock").textContent = new Date().toLocaleString(LANG, { timeZone: PARK_TZ, hourCycle: "h23" }) + " (" + PARK_TZ + ")"; };
  tick(); setInterval(tick, 1000);
  document.getElementById("span").onchange = (e) => go({ span: e.target.value });
  document.getElementById("date").onchange = (e) => { if (e.target.value) go({ date: e.target.value }); };
  document.getElementById("prev").onclick = () => VIEW && go({ date: VIEW.previous });
  document.getElementById("next").onclick = () => VIEW && go({ date: VIEW.next });
  document.getElementById("latest").onclick = () => go({ date: null });
  stream();
  await Promise.all([
    loadSchedule().catch((e) => console.info(e.message)),
    loadView().then(loadIntensity).catch((e) => console.info(e.message)),
    loadGrid().catch((e) => console.info(e.message)),
    loadAlerts().catch((e) => console.info(e.message)),
    loadDevices().catch((e) => console.info(e.message)),
  ]);
  document.body.dataset.loaded = "true";
  let resized = null;
  window.addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(() => Object.values(CHARTS).forEach((u) => u.setSize({ width: width(u.root.parentElement), height: u.height })), 150); });
  setInterval(() => {  // ages and liveness drift with time; the view follows new readings at most once a minute
    loadDevices().catch((e) => console.info(e.message));
    if (VIEW_DIRTY) { VIEW_DIRTY = false; loadView().catch((e) => console.info(e.message)); }
  }, 60000);
}

main();
