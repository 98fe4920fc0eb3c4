/*
 * tallyfeed-web's dashboard: reads /api/v1/ and draws the province at a
 * glance, a table per level that drills down to one unit, the make-up of
 * those elected, and a unit's every revision.  No framework, no build
 * step; every element is made with textContent, never from HTML strings.
 *
 * Every figure drawn from the API carries data-api (which endpoint),
 * data-key (which field) and, where it is per committee, data-committee,
 * so a test can hold each one up against the API's own answer.
 */
"use strict";

const REFRESH_SECONDS = 30;
const FEED_SECONDS = 5;         /* the live feed is asked for more often */
const FEED_ROWS = 20;

const LEVEL_NAMES = {
  province: "省", prefecture: "市（州）", county: "县（市、区）",
  township: "乡（镇、街道）", unit: "村（社区）"
};
const COMMITTEE_NAMES = {
  villagers: "村民委员会", residents: "居民委员会", party_branch: "党支部委员会"
};
const VERDICT_NAMES = {
  accepted: "接收", duplicate: "重复", rejected: "拒收", deferred: "暂缓"
};

/* h("td", {class: "num"}, "12"): an element with attributes and children. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* How a value from the API is shown: numbers with separators, a
 * percentage with two decimals, booleans as 是/否, nothing (or no text) as —. */
function show(value, kind) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "是" : "否";
  if (kind === "percent") return Number(value).toFixed(2) + "%";
  if (kind === "id") return String(value);    /* a sequence number is no quantity */
  if (typeof value === "number") {
    return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(1);
  }
  return String(value);
}

/* A table with its heading row, and the body to fill; the caller appends
 * rows to body. */
function headedTable(attrs, headings) {
  const body = h("tbody", {});
  const table = h("table", attrs,
    h("thead", {}, h("tr", {}, ...headings.map(x => h("th", {}, x)))), body);
  return { table, body };
}

/* "2026-11-25 08:37:07.41+00" as "11-25 08:37:07": the month and day
 * matter (a runoff may come days later), the year and fraction do not;
 * the whole stays in the cell's title. */
function shortTime(stamp) {
  return stamp ? stamp.replace("T", " ").slice(5, 19) : "—";
}

function share(part, whole) {
  return whole > 0 ? (100 * part / whole) : null;
}

/* A figure from the API: a cell (or span) tagged with where it came from. */
function fig(tag, api, key, value, opts) {
  opts = opts || {};
  return h(tag, {
    class: opts.cls || (typeof value === "number" ? "num" : null),
    "data-api": api, "data-key": key, "data-committee": opts.committee,
    "data-code": opts.code
  }, show(value, opts.kind));
}

function bar(done, total, big) {
  const pct = share(done, total) || 0;
  const inner = h("span", {});
  inner.style.width = pct.toFixed(1) + "%";
  return h("div", { class: big ? "bar big" : "bar", role: "img",
                    "aria-label": `${done} / ${total}` },
           inner, h("span", { class: "text" }, `${pct.toFixed(1)}%`));
}

/* The API's answer; a failure throws an Error carrying the HTTP status. */
async function api(path) {
  const response = await fetch("/api/v1/" + path, { cache: "no-store" });
  const failed = (why) => Object.assign(new Error(why), { status: response.status });
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw failed(`${path}: HTTP ${response.status}`);
  }
  if (!response.ok) throw failed(body.error || `HTTP ${response.status}`);
  return body;
}

/* Sum a field over the rows of one area code (progress has one row per
 * committee). */
function sum(rows, code, key) {
  return rows.filter(r => r.code === code).reduce((s, r) => s + (r[key] || 0), 0);
}

function drawPath(path) {
  const nav = document.getElementById("path");
  nav.replaceChildren();
  path.forEach((step, i) => {
    if (i > 0) nav.append(h("span", { class: "sep" }, "›"));
    const label = [step.name, " ", h("span", { class: "code" }, step.code)];
    nav.append(i === path.length - 1
      ? h("span", { "data-level": step.level }, ...label)
      : h("a", { href: hrefFor(step), "data-level": step.level }, ...label));
  });
}

function hrefFor(place) {
  return place.level === "unit" ? `#/unit/${place.code}` : `#/area/${place.code}`;
}

/* The area at a glance: reported of expected, turnout, what is missing. */
function drawGlance(area, totals, progress) {
  const t = totals.rows[0] || {};
  const code = area.code;
  const expected = sum(progress.rows, code, "expected");
  const reported = sum(progress.rows, code, "reported");
  const section = h("section", { id: "glance" },
    h("h2", {}, `${area.name}（${LEVEL_NAMES[area.level]}）概况`),
    h("div", { class: "committees" },
      h("strong", {}, "已报 / 应报"),
      bar(reported, expected, true),
      h("span", {}, fig("span", "progress", "reported", reported, { code: code }), " / ",
        fig("span", "progress", "expected", expected, { code: code }))));
  const lines = h("div", { class: "committees", id: "by-committee" });
  for (const row of progress.rows.filter(r => r.code === code)) {
    lines.append(h("span", {}, COMMITTEE_NAMES[row.committee] || row.committee),
      bar(row.reported, row.expected, false),
      h("span", {},
        fig("span", "progress", "reported", row.reported, { committee: row.committee, code: code }),
        " / ",
        fig("span", "progress", "expected", row.expected, { committee: row.committee, code: code })));
  }
  section.append(lines);
  const card = (label, api, key, value, opts) =>
    h("div", { class: "card" }, h("div", { class: "label" }, label),
      fig("div", api, key, value, Object.assign({ cls: "value", code: code }, opts || {})));
  section.append(h("div", { class: "cards" },
    card("应选单位", "totals", "units_expected", t.units_expected),
    card("参选率", "totals", "turnout", t.turnout, { kind: "percent" }),
    card("登记选民", "totals", "electorate", t.electorate),
    card("参加投票", "totals", "voters", t.voters),
    card("未报", "progress", "outstanding", sum(progress.rows, code, "outstanding"),
         { cls: "value bad" }),
    card("有效选举", "totals", "valid_elections", t.valid_elections),
    card("一次选成", "progress", "first_round_success",
         sum(progress.rows, code, "first_round_success")),
    card("待另行选举", "totals", "runoffs_needed", t.runoffs_needed),
    card("无效选举", "totals", "invalid_elections", t.invalid_elections,
         { cls: "value bad" })));
  return section;
}

/* One row per area of the level below, each a link one level down. */
function drawChildren(area, totals, progress) {
  const head = ["代码", "名称", "应选单位", "已报", "应报", "进度", "未报", "参选率",
                "有效选举", "无效选举", "待另行选举"];
  const { table, body } = headedTable({ id: "children", "data-level": area.children_level }, head);
  for (const t of totals.rows) {
    const reported = sum(progress.rows, t.code, "reported");
    const expected = sum(progress.rows, t.code, "expected");
    body.append(h("tr", { "data-code": t.code },
      h("td", { class: "code" }, t.code),
      h("td", {}, h("a", { href: `#/area/${t.code}` }, t.name)),
      fig("td", "totals", "units_expected", t.units_expected),
      fig("td", "progress", "reported", reported),
      fig("td", "progress", "expected", expected),
      h("td", {}, bar(reported, expected, false)),
      fig("td", "progress", "outstanding", sum(progress.rows, t.code, "outstanding")),
      fig("td", "totals", "turnout", t.turnout, { kind: "percent", cls: "num" }),
      fig("td", "totals", "valid_elections", t.valid_elections),
      fig("td", "totals", "invalid_elections", t.invalid_elections),
      fig("td", "totals", "runoffs_needed", t.runoffs_needed)));
  }
  return h("section", {},
    h("h2", {}, `下辖${LEVEL_NAMES[area.children_level]}（${totals.rows.length}）`), table);
}

/* The units of a township, each a link to its page. */
function drawUnits(area, units) {
  const head = ["代码", "名称", "委员会", "已报", "登记", "参加", "参选率", "有效选举",
                "应选", "已选", "待另行选举", "轮次", "修订", "最后接收", "提示"];
  const { table, body } = headedTable({ id: "children", "data-level": "unit" }, head);
  for (const u of units.rows) {
    const opts = { committee: u.committee };
    body.append(h("tr", { "data-code": u.unit_code, "data-committee": u.committee,
                          class: u.reported ? null : "outstanding" },
      h("td", { class: "code" }, u.unit_code),
      h("td", {}, h("a", { href: `#/unit/${u.unit_code}` }, u.unit_name)),
      h("td", {}, COMMITTEE_NAMES[u.committee] || u.committee),
      fig("td", "units", "reported", u.reported, opts),
      fig("td", "units", "registered", u.registered, opts),
      fig("td", "units", "took_part", u.took_part, opts),
      fig("td", "units", "turnout", u.turnout, Object.assign({ kind: "percent", cls: "num" }, opts)),
      fig("td", "units", "election_valid", u.election_valid, opts),
      fig("td", "units", "seats_total", u.seats_total, opts),
      fig("td", "units", "seats_filled", u.seats_filled, opts),
      fig("td", "units", "runoff_needed", u.runoff_needed, opts),
      fig("td", "units", "rounds", u.rounds, opts),
      fig("td", "units", "revisions", u.revisions, opts),
      h("td", {}, u.last_received_at ? u.last_received_at.slice(0, 19) : "—"),
      fig("td", "units", "warnings", u.warnings, Object.assign({ cls: "flag" }, opts))));
  }
  return h("section", {}, h("h2", {}, `下辖村（社区）（${new Set(units.rows.map(u => u.unit_code)).size}）`),
           table);
}

/* The make-up of those elected, per committee: a table and a bar chart. */
function drawComposition(area, composition) {
  const rows = composition.rows.filter(r => r.code === area.code);
  const section = h("section", { id: "composition" }, h("h2", {}, "当选人员构成"));
  if (rows.length === 0) {
    section.append(h("p", {}, "尚无当选人员。"));
    return section;
  }
  const cols = [
    ["members", "当选"], ["heads", "正职"], ["women", "女性"], ["women_heads", "女性正职"],
    ["minorities", "少数民族"], ["average_age", "平均年龄"], ["under_35", "35岁以下"],
    ["over_60", "60岁以上"], ["college", "大专以上"], ["party_members", "党员"],
    ["reelected", "连任"], ["new_members", "新任"], ["one_shoulder", "一肩挑"],
    ["units_both_heads", "两正职均选出"], ["cross_serving", "交叉任职"]
  ];
  const { table, body } = headedTable({ id: "composition-table" },
                                     ["委员会", ...cols.map(c => c[1])]);
  for (const r of rows) {
    body.append(h("tr", { "data-committee": r.committee },
      h("td", {}, COMMITTEE_NAMES[r.committee] || r.committee),
      ...cols.map(c => fig("td", "composition", c[0], r[c[0]],
                           { committee: r.committee, code: area.code, cls: "num" }))));
  }
  section.append(table);
  for (const r of rows) {
    const chart = h("div", { class: "chart", "data-committee": r.committee });
    const line = (label, part, whole) => {
      const pct = share(part, whole);
      chart.append(h("span", {}, label), bar(part || 0, whole || 0, false),
                   h("span", { class: "num" }, pct === null ? "—" : pct.toFixed(1) + "%"));
    };
    line("女性", r.women, r.members);
    line("女性正职", r.women_heads, r.heads);
    line("少数民族", r.minorities, r.members);
    line("35岁以下", r.under_35, r.ages_known);
    line("60岁以上", r.over_60, r.ages_known);
    line("大专以上", r.college, r.members);
    line("党员", r.party_members, r.members);
    line("连任", r.reelected, r.members);
    if (r.committee !== "party_branch") {
      line("一肩挑", r.one_shoulder, r.units_both_heads);
      line("交叉任职", r.cross_serving, r.members);
    }
    section.append(h("h3", {}, COMMITTEE_NAMES[r.committee] || r.committee), chart);
  }
  return section;
}

/* The collectors' live feed for this area: the latest answers, newest
 * first.  Absent (null) when this server listens to no feed. */
function drawFeed(code, feed) {
  const ok = feed && !feed.error;
  const section = h("section", { id: "feed", "data-code": code,
                                 "data-received": ok ? feed.received : 0,
                                 "data-newest": ok && feed.rows.length ? feed.rows[0].n : 0 },
    h("h2", {}, "实时动态"));
  if (!feed) {
    section.append(h("p", {}, "本服务未接入采集端的实时动态（tallyfeed-web --feed）。"));
    return section;
  }
  if (feed.error) {
    /* The feed is a monitor: its failure never stops the figures. */
    section.append(h("p", { class: "status error" }, `实时动态暂不可用：${feed.error}`));
    return section;
  }
  section.append(h("p", { class: "status" },
    `本服务已收到 ${show(feed.received)} 条，遗漏 ${show(feed.missed)} 条；来自 `,
    h("span", { class: "code" }, feed.sources.join("、")),
    `；每 ${FEED_SECONDS} 秒更新，显示本区域最新 ${FEED_ROWS} 条。`));
  if (feed.rows.length === 0) {
    section.append(h("p", {}, "本区域尚无动态。"));
    return section;
  }
  const { table, body } = headedTable({ id: "feed-table" },
    ["时间", "结果", "村（社区）", "委员会", "轮次", "修订", "发送方", "原因"]);
  for (const r of feed.rows) {
    const unit = r.unit
      ? h("a", { href: `#/unit/${r.unit}` }, fig("span", "feed", "unit_name", r.unit_name),
          " ", fig("span", "feed", "unit", r.unit, { cls: "code" }))
      : "—";
    body.append(h("tr", { "data-n": r.n, "data-verdict": r.verdict, class: `v-${r.verdict}` },
      h("td", {}, r.time ? new Date(r.time).toLocaleTimeString("zh-CN", { hour12: false }) : "—"),
      h("td", { class: "verdict" }, VERDICT_NAMES[r.verdict] || r.verdict),
      h("td", {}, unit),
      h("td", {}, COMMITTEE_NAMES[r.committee] || "—"),
      fig("td", "feed", "round", r.round),
      fig("td", "feed", "revision", r.revision),
      fig("td", "feed", "agent", r.agent),
      h("td", {}, fig("span", "feed", "reason", r.reason), r.detail ? `：${r.detail}` : "")));
  }
  section.append(table);
  return section;
}

/* The feed; null when this server has none (404); {error} when it
 * cannot be had now (a monitor's failure never stops the page). */
function feedFor(code) {
  return api(`feed?under=${code}&limit=${FEED_ROWS}`)
    .catch(e => e.status === 404 ? null : { error: e.message });
}

async function renderArea(code) {
  const area = await api(`area/${code}`);
  const q = `level=${area.level}&under=${code}`;
  const [totals, progress, composition, feed] = await Promise.all([
    api(`totals?${q}`), api(`progress?${q}`), api(`composition?${q}`), feedFor(code)]);
  const parts = [drawGlance(area, totals, progress), drawFeed(code, feed)];
  if (area.children_level === "unit") {
    parts.push(drawUnits(area, await api(`units?under=${code}`)));
  } else {
    const cq = `level=${area.children_level}&under=${code}`;
    const [ct, cp] = await Promise.all([api(`totals?${cq}`), api(`progress?${cq}`)]);
    parts.push(drawChildren(area, ct, cp));
  }
  parts.push(drawComposition(area, composition));
  return { path: area.path, parts: parts, freshness: totals.freshness };
}

/* One unit: its state per committee and every revision of its results. */
async function renderUnit(code) {
  const unit = await api(`unit/${code}`);
  const parts = [h("h2", {}, `${unit.name}（村/社区）`, " ", h("span", { class: "code" }, unit.code))];
  const { table: state, body: sbody } = headedTable({ id: "unit-committees" },
    ["委员会", "已报", "登记", "参加", "参选率", "有效选举", "应选", "已选", "待另行选举",
     "轮次", "修订", "提示"]);
  for (const c of unit.committees) {
    const o = { committee: c.committee };
    sbody.append(h("tr", { "data-committee": c.committee },
      h("td", {}, COMMITTEE_NAMES[c.committee] || c.committee),
      fig("td", "unit", "reported", c.reported, o),
      fig("td", "unit", "registered", c.registered, o),
      fig("td", "unit", "took_part", c.took_part, o),
      fig("td", "unit", "turnout", c.turnout, Object.assign({ kind: "percent", cls: "num" }, o)),
      fig("td", "unit", "election_valid", c.election_valid, o),
      fig("td", "unit", "seats_total", c.seats_total, o),
      fig("td", "unit", "seats_filled", c.seats_filled, o),
      fig("td", "unit", "runoff_needed", c.runoff_needed, o),
      fig("td", "unit", "rounds", c.rounds, o),
      fig("td", "unit", "revisions", c.revisions, o),
      fig("td", "unit", "warnings", c.warnings, Object.assign({ cls: "flag" }, o))));
  }
  parts.push(state);

  parts.push(h("h2", {}, `修订记录（${unit.revisions.length}）`),
    h("p", {}, unit.signatures_checked
      ? "每份结果的签名都已用乡镇代理的证书核验。"
      : "签名已存储，但本服务未配置证书，未核验（tallyfeed-web -C DIR）。"));
  const { table: history, body: hbody } = headedTable({ id: "revisions" },
    ["委员会", "轮次", "修订", "计入", "发送者", "签名", "生成时间", "接收时间", "登记",
     "参加", "有效票", "有效选举", "已选", "应选", "提示", "序号", "链·环节", "消息"]);
  for (const r of unit.revisions) {
    const o = { committee: r.committee };
    const sigClass = r.signature === "verified" ? "sig-ok"
                   : /FAILS|not decode|no certificate/.test(r.signature || "") ? "sig-bad" : null;
    hbody.append(h("tr", { "data-message-id": r.message_id, class: r.counts ? null : "old" },
      h("td", { class: "nowrap" }, COMMITTEE_NAMES[r.committee] || r.committee),
      fig("td", "unit.revisions", "round", r.round, o),
      fig("td", "unit.revisions", "revision", r.revision, o),
      fig("td", "unit.revisions", "counts", r.counts, o),
      fig("td", "unit.revisions", "agent_id", r.agent_id, o),
      /* Who sent it and whether the signature holds, before the figures. */
      fig("td", "unit.revisions", "signature", r.signature, Object.assign({ cls: sigClass }, o)),
      h("td", { class: "nowrap", title: r.created_at }, shortTime(r.created_at)),
      h("td", { class: "nowrap", title: r.received_at }, shortTime(r.received_at)),
      fig("td", "unit.revisions", "registered", r.registered, o),
      fig("td", "unit.revisions", "took_part", r.took_part, o),
      fig("td", "unit.revisions", "ballots_valid", r.ballots_valid, o),
      fig("td", "unit.revisions", "election_valid", r.election_valid, o),
      fig("td", "unit.revisions", "seats_filled", r.seats_filled, o),
      fig("td", "unit.revisions", "seats_total", r.seats_total, o),
      fig("td", "unit.revisions", "warnings", r.warnings, Object.assign({ cls: "flag" }, o)),
      fig("td", "unit.revisions", "sequence", r.sequence, Object.assign({ kind: "id", cls: "num" }, o)),
      h("td", { class: "code" }, `${r.chain} · ${r.link}`),
      h("td", { class: "code", title: r.message_id }, (r.message_id || "").slice(0, 8) + "…")));
  }
  /* Eighteen columns: on a narrow screen the table scrolls, not the page. */
  parts.push(h("div", { class: "scroll" }, history));
  return { path: unit.path, parts: parts, freshness: unit.freshness };
}

/* How old the figures are, from the API's freshness (daemon/freshness.h):
 * a standby's figures trail the primary's. */
function freshnessText(f) {
  if (!f) return "";
  const time = (iso) => new Date(iso).toLocaleTimeString("zh-CN", { hour12: false });
  if (f.server === "primary") return `数据截至 ${time(f.as_of)}（主库）`;
  let behind;
  if (f.behind_s === null) behind = "落后多少未知（未在流复制）";
  else if (f.caught_up) behind = "落后 0 秒";
  else behind = `最多落后 ${f.behind_s.toFixed(1)} 秒`;
  const change = f.last_change && (f.caught_up || f.behind_s === null)
    ? `，最后变更于 ${time(f.last_change)}` : "";
  return `数据截至 ${time(f.as_of)}（备库，${behind}${change}）`;
}

let provinceCode = null;
let renders = 0;                /* the newest render() started */

async function render() {
  const status = document.getElementById("status");
  const page = document.getElementById("page");
  const route = location.hash.replace(/^#\/?/, "").split("/");
  const mine = ++renders;
  document.body.dataset.ready = "0";
  try {
    let view;
    if (route[0] === "unit" && route[1]) {
      view = await renderUnit(route[1]);
    } else if (route[0] === "area" && route[1]) {
      view = await renderArea(route[1]);
    } else {
      if (provinceCode === null) provinceCode = (await api("totals?level=province")).rows[0].code;
      view = await renderArea(provinceCode);
    }
    if (mine !== renders) return;    /* a newer one started (a click, a timer): it draws */
    drawPath(view.path);
    page.replaceChildren(...view.parts);
    status.className = "status";
    const fresh = freshnessText(view.freshness);
    status.textContent = (fresh ? `${fresh}；` : "") +
                         `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}` +
                         `，每 ${REFRESH_SECONDS} 秒自动刷新`;
    status.dataset.server = view.freshness ? view.freshness.server : "";
    status.title = view.freshness ? view.freshness.text : "";
    document.body.dataset.route = location.hash || "#/";
  } catch (e) {
    if (mine !== renders) return;
    /* Keep the figures already shown; say why they are not fresh. */
    status.className = "status error";
    status.textContent = `读取失败：${e.message}（将自动重试）`;
  }
  document.body.dataset.ready = "1";
}

/* Between full refreshes, ask for the feed alone: new rows are drawn at
 * once, and a newly accepted result refreshes the figures too. */
async function pollFeed() {
  const shown = document.getElementById("feed");
  if (!shown || document.body.dataset.ready !== "1") return;
  const code = shown.dataset.code;
  const hash = location.hash;
  const feed = await feedFor(code);
  /* Gone meanwhile (another page, a full refresh), or nothing new here. */
  if (location.hash !== hash || document.getElementById("feed") !== shown) return;
  if (!feed || feed.error) {
    if (feed) shown.replaceWith(drawFeed(code, feed));
    return;
  }
  const seen = Number(shown.dataset.newest);
  const newest = feed.rows.length ? feed.rows[0].n : 0;
  if (newest === seen && shown.querySelector(".error") === null) return;
  if (feed.rows.some(r => r.n > seen && r.verdict === "accepted")) {
    render();
  } else {
    shown.replaceWith(drawFeed(code, feed));
  }
}

window.addEventListener("hashchange", render);
setInterval(render, REFRESH_SECONDS * 1000);
setInterval(pollFeed, FEED_SECONDS * 1000);
render();
