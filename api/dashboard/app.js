// Operator dashboard: reads the EMS API with an operator key; no build step.
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
  N_("ok"), N_("degraded"), N_("offline"), N_("pushed"), N_("not_polled"),
  N_("pv"), N_("wind"), N_("battery"), N_("load"), N_("meter"),
  N_("optimal"), N_("feasible"), N_("fallback"), N_("baseline"), N_("lexicographic"), N_("weighted"),
  N_("CO₂ per unit of energy"), N_("clean-energy share"), N_("direct green supply share"),
  N_("energy consumption"), N_("energy consumption, annualised"), N_("CO₂ emissions"), N_("share"),
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

function width(el) { return Math.max(300, el.clientWidth || el.parentElement.clientWidth - 20); }

let PARK_TZ = "Asia/Shanghai";

// x-axis ticks in park time, 24-hour clock, the date at midnight (no "am/pm" in any language)
function timeTick(ts) {
  const d = new Date(ts * 1e3);
  const hm = d.toLocaleTimeString(LANG, { timeZone: PARK_TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return hm === "00:00" ? d.toLocaleDateString(LANG, { timeZone: PARK_TZ, month: "numeric", day: "numeric" }) : hm;
}

function plot(el, opts, data) {
  el.dataset.state = "drawn";
  el.innerHTML = "";
  const base = {
    width: width(el), height: 260, legend: { live: false },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), PARK_TZ),  // axes in the park's time zone
    axes: [{ values: (u, splits) => splits.map(timeTick) }, { size: 60 }],
  };
  const u = new uPlot(Object.assign(base, opts), data, el);
  window.addEventListener("resize", () => u.setSize({ width: width(el), height: 260 }));
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
  plot(document.getElementById("chart-soc"), { series: [{}, { label: _("SOC %"), stroke: COLORS.soc, width: 2 }], scales: { y: { range: [0, 100] } } },
    [xs, iv.soc.map((v) => 100 * v)]);
  plot(document.getElementById("chart-curtail"), { series: [{}, { label: _("curtailed kW"), stroke: COLORS.curtail, fill: COLORS.curtail + "55" }] },
    [xs, iv.curtailment_kw]);
  document.getElementById("schedule-meta").textContent =
    _("schedule {id} · planned {time} · {status}", { id: s.schedule_id, time: new Date(s.created_at).toLocaleString(LANG, { timeZone: PARK_TZ }), status: shown(s.status) }) +
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

async function loadCarbon(day) {
  const q = `start=${encodeURIComponent(day.start)}&end=${encodeURIComponent(day.end)}&resolution=hour`;
  const [loc, mkt] = await Promise.all([get(`/v1/carbon/factors?${q}&method=location`), get(`/v1/carbon/factors?${q}&method=market`)]);
  const xs = loc.data.map((p) => secs(p.from));
  plot(document.getElementById("chart-ef"), {
    series: [{}, { label: _("location-based"), stroke: COLORS.location, width: 2 }, { label: _("market-based"), stroke: COLORS.market, width: 2 }],
    scales: { x: { time: true } },
  }, [xs, loc.data.map((p) => p.value_g_per_kwh), mkt.data.map((p) => p.value_g_per_kwh)]);
  const ind = await get(`/v1/carbon/indicators?start=${encodeURIComponent(day.start)}&end=${encodeURIComponent(day.end)}`);
  const rows = ind.rows.map((r) => `<tr><td>${shown(r.name)}</td><td class="num">${r.value ?? "–"}</td><td>${shown(r.unit)}</td>` +
    `<td>${r.threshold ?? ""}</td><td class="${r.meets === false ? "gap-bad" : r.meets ? "gap-good" : ""}">${r.gap ?? ""}</td></tr>`);
  document.querySelector("#indicators tbody").innerHTML =
    `<tr><th>${_("indicator")}</th><th>${_("value")}</th><th>${_("unit")}</th><th>${_("threshold")}</th><th>${_("gap")}</th></tr>` + rows.join("");
}

async function loadForecast(day) {
  const f = await get(`/v1/forecasts/plan-vs-actual?start=${encodeURIComponent(day.start)}&end=${encodeURIComponent(day.end)}`);
  const xs = f.start.map(secs);
  plot(document.getElementById("chart-forecast"), {
    series: [{}, { label: _("forecast load MW"), stroke: COLORS.forecast, width: 2, dash: [6, 4] }, { label: _("measured load MW"), stroke: COLORS.actual, width: 2 }],
    scales: { x: { time: true } },
  }, [xs, f.forecast_load_kw.map((v) => v === null ? null : v / 1000), f.actual_load_kw.map((v) => v === null ? null : v / 1000)]);
}

async function loadDevices() {
  const [devices, health, latest] = await Promise.all([get("/v1/devices"), get("/v1/devices/health"), get("/v1/devices/latest")]);
  const h = Object.fromEntries(health.map((x) => [x.device, x.state]));
  const p = Object.fromEntries(latest.filter((x) => x.quantity === "p_kw").map((x) => [x.device, x]));
  document.querySelector("#devices tbody").innerHTML = devices.map((d) =>
    `<tr><td title="${d.name}">${d.id}</td><td>${shown(d.type)}</td><td class="${h[d.id]}">${h[d.id] ? shown(h[d.id]) : ""}</td>` +
    `<td class="num">${p[d.id] ? fmt(p[d.id].value, 0) : "–"}</td><td>${p[d.id] ? new Date(p[d.id].time).toLocaleTimeString(LANG, { timeZone: PARK_TZ }) : ""}</td></tr>`).join("");
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
  const tick = () => { document.getElementById("clock").textContent = new Date().toLocaleString(LANG, { timeZone: PARK_TZ }) + " (" + PARK_TZ + ")"; };
  tick(); setInterval(tick, 1000);
  const s = await loadSchedule().catch((e) => { console.warn(e.message); return null; });
  const day = s ? { start: s.intervals.start[0], end: s.end } : park.today;
  await Promise.all([
    loadCarbon(day).catch((e) => console.warn(e.message)),
    loadForecast(day).catch((e) => console.warn(e.message)),
    loadDevices().catch((e) => console.warn(e.message)),
  ]);
  document.body.dataset.loaded = "true";
  setInterval(() => loadDevices().catch((e) => console.warn(e.message)), 10000);
}

main();
