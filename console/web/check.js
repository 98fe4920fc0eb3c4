// The public check of a posting sheet (公示): asks /api/v1/check with this
// page's own query (what the sheet's QR code holds) and shows the answer.
// It shows only figures the sheet itself carries (the query's), marking
// those the province does not count as posted, and, once counted, the
// candidates' names and positions the genuine sheet printed.
"use strict";

const VERDICT_CLASS = {
  counted: "ok", superseded: "warn", altered: "bad", not_known: "warn", forged: "bad",
};
const VERDICT_TITLE = {
  counted: "与公示一致", superseded: "已被更正", altered: "与省里计数不符",
  not_known: "省里没有这个结果", forged: "签收凭证是伪造的",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);   // text is text: never parsed as HTML
  return node;
}

function show(answer) {
  const box = document.getElementById("answer");
  box.replaceChildren(
    el("h2", { class: "verdict " + (VERDICT_CLASS[answer.verdict] || "bad"),
               "data-verdict": answer.verdict }, VERDICT_TITLE[answer.verdict] || answer.verdict),
    el("p", { class: "message" }, answer.message));
  const where = [answer.township_name, answer.unit_name].filter(Boolean).join(" · ");
  const sheet = document.getElementById("sheet");
  const rows = [
    ["单位", (where ? where + " · " : "") + answer.unit],
    ["委员会", answer.committee_name],
    ["轮次 · 版本", "第" + answer.round + "轮 · 第" + answer.revision + "版"],
  ];
  if (answer.held_on) rows.push(["选举日期", answer.held_on]);
  if (answer.collector) rows.push(["县级签收", answer.collector + "，" + answer.received_at + "（北京时间）"]);
  if (answer.superseded_by) rows.push(["现计入", "第" + answer.superseded_by + "版，" + answer.superseded_at + "收到"]);
  const facts = el("table", { class: "facts" });
  for (const [k, v] of rows) facts.append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
  const figures = el("table", { class: "figures" },
    el("tr", {}, el("th", {}, "公示所载"), el("th", {}, "数字"), el("th", {}, "")));
  for (const f of answer.figures || []) {
    figures.append(el("tr", f.differs ? { class: "differs" } : {},
      el("td", {}, f.name), el("td", { class: "n" }, String(f.posted)),
      el("td", {}, f.differs ? "不符" : "")));
  }
  // Counted or superseded, the names and positions of the sheet the
  // province stores: a reprint with this QR code and other names shows here.
  const votes = (answer.candidates || []).map((c, i) =>
    (c.name !== undefined ? c.name + "（" + c.position + "）" : "候选人" + (i + 1)) + "："
    + c.votes + "票" + (c.elected ? "（当选" + (c.position_won ? " " + c.position_won : "") + "）" : ""))
    .join("；");
  sheet.replaceChildren(el("h2", {}, "公示信息"), facts, figures,
    el("p", answer.candidates_differ ? { class: "differs" } : {},
       votes + (answer.candidates_differ ? " —— 候选人得票或当选情况与省里计数不符" : "")));
}

async function main() {
  const box = document.getElementById("answer");
  try {
    const response = await fetch("/api/v1/check" + window.location.search, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) {
      box.replaceChildren(el("h2", { class: "verdict bad", "data-verdict": "error" }, "无法核对"),
                          el("p", {}, response.status === 429 ? "查询过于频繁，请稍后再试。"
                                      : body.error || ("HTTP " + response.status)));
      return;
    }
    show(body);
  } catch (e) {
    box.replaceChildren(el("h2", { class: "verdict bad", "data-verdict": "error" }, "无法核对"),
                        el("p", {}, "核对服务暂时无法访问，请稍后再试。"));
  }
}

main();
