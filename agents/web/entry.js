// The entry desk: township staff enter a committee's result; every rule is
// checked by the agent (POST /api/check, the collector's own validator) as
// they type, and each finding is shown at its field.  Loads nothing from
// elsewhere; no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const COMMITTEES = { villagers: "村民委员会", residents: "居民委员会", party_branch: "党支部委员会" };
const STATES = { none: "未录入", queued: "已保存，待发送", sent: "已发送，待县里答复",
  accepted: "县里已接收", rejected: "被县里退回", runoff_owed: "需另行选举" };
// The collector's reasons (proto/tallyfeed.proto, Reason), in the staff's words;
// the code and the collector's own detail follow, for whoever they call.
const REASONS = {
  MALFORMED_ENVELOPE: "消息格式损坏", UNSUPPORTED_VERSION: "协议版本不受支持",
  BAD_MESSAGE_ID: "消息编号无效", BAD_AGENT_ID: "上报端编号无效",
  UNKNOWN_PAYLOAD_TYPE: "消息类型未知", MALFORMED_PAYLOAD: "结果数据损坏",
  MISSING_FIELD: "缺少必填项", FIELD_TOO_LONG: "文字过长或编码无效",
  UNKNOWN_UNIT: "单位不在区划名录中", UNIT_TYPE_UNKNOWN: "单位代码对应不到委员会类型",
  COMMITTEE_MISMATCH: "该单位没有这个委员会", OUTSIDE_TOWNSHIP: "单位不属于本乡镇",
  BALLOT_SUM: "有效票加无效票不等于收回选票", RETURNED_OVER_ISSUED: "收回选票多于发出选票",
  TURNOUT_OVER_REGISTERED: "参加投票人数多于应参加人数", VOTES_OVER_VALID: "候选人得票多于有效票",
  POSITION_VOTES_OVER: "某职位得票总数超过有效票乘应选名额",
  ELECTED_MISMATCH: "当选标记与按得票规则计算的结果不符", PROXY_IN_PARTY: "党组织选举不得委托投票",
  BAD_SEATS: "应选名额有误", TOO_MANY_CANDIDATES: "候选人过多",
  DUPLICATE_CANDIDATE: "候选人编号重复", REVISION_EXISTS: "该修订号已上报过",
  MESSAGE_TOO_LARGE: "消息过大", BAD_ROUND: "轮次或修订号有误", BAD_DATE: "选举日期有误",
  BAD_PHOTO_HASH: "结果照片摘要有误", BAD_SIGNATURE: "签名无效", UNKNOWN_AGENT: "上报端未登记",
  AGENT_MISMATCH: "上报端与证书不符", REPLAYED_SEQUENCE: "消息序号已被使用",
  RUNOFF_WITHOUT_ROUND1: "另行选举须先报第 1 轮结果", RUNOFF_SEATS: "另行选举的名额不是第 1 轮空缺的名额",
  COUNT_TOO_LARGE: "数字超过上限", DECODE_TOO_LARGE: "消息过大",
  MESSAGE_ID_REUSED: "消息编号已被另一条消息使用" };

function rejection(reason, detail) {
  const words = REASONS[reason];
  return words ? words + "（" + reason + "：" + detail + "）" : reason + " " + detail;
}
const EDUCATION = [["", "—"], ["primary", "小学"], ["junior_secondary", "初中"],
  ["senior_secondary", "高中/中专"], ["junior_college", "大专"], ["bachelor", "本科"],
  ["postgraduate", "研究生"]];
let csrf = null, units = [], elect = [], checkTimer = null, pollTimer = null, current = null;

function say(text) { $("status").textContent = text; }

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method === "POST" && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, { method, headers, credentials: "same-origin",
    body: body !== undefined ? JSON.stringify(body) : undefined });
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: "答复不是 JSON" }; }
  return { status: r.status, data };
}

function show(section) {
  for (const id of ["login", "units", "form"]) $(id).hidden = id !== section;
  $("logout").hidden = section === "login";
  document.body.dataset.view = section;
}

async function start() {
  const r = await api("GET", "/api/session");
  if (r.data.logged_in) { csrf = r.data.csrf; window.TF_SHEET = r.data.sheet; await showUnits(); } else show("login");
  document.body.dataset.ready = "1";
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await api("POST", "/api/login", { password: $("password").value });
  $("password").value = "";
  if (r.status !== 200) { $("login-error").textContent = r.data.error || "登录失败"; return; }
  $("login-error").textContent = "";
  csrf = r.data.csrf;
  window.TF_SHEET = r.data.sheet;     // posting sheets can be printed
  await showUnits();
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/logout", {});
  csrf = null;
  show("login");
});

async function showUnits() {
  const r = await api("GET", "/api/units");
  if (r.status !== 200) { say(r.data.error || "无法读取单位列表"); if (r.status === 401) show("login"); return; }
  units = r.data.units;
  $("who").textContent = r.data.township_name + "（" + r.data.township + "）";
  const tbody = $("unit-table").tBodies[0];
  tbody.textContent = "";
  for (const u of units) for (const c of u.committees) {
    const tr = tbody.insertRow();
    tr.dataset.unit = u.code; tr.dataset.committee = c.committee; tr.dataset.state = c.state;
    tr.insertCell().textContent = u.code;
    tr.insertCell().textContent = u.name;
    tr.insertCell().textContent = COMMITTEES[c.committee];
    const st = tr.insertCell();
    st.className = "state";
    st.textContent = STATES[c.state] + (c.state !== "none" ? "（第 " + c.round + " 轮，修订 " + c.revision + "）" : "")
      + (c.state === "rejected" ? "：" + rejection(c.reason, c.detail) : "");
    const act = tr.insertCell();
    const b = document.createElement("button");
    b.className = "open";
    if (c.state === "rejected") {
      b.textContent = "修改后重报";
      b.onclick = () => openForm(u.code, c.committee, c.round, true);
    } else if (c.state === "runoff_owed") {
      b.textContent = "录入另行选举";
      b.onclick = () => openForm(u.code, c.committee, 2, false);
    } else {
      b.textContent = c.state === "none" ? "录入" : "查看/重报";
      b.onclick = () => openForm(u.code, c.committee, c.state === "none" ? 1 : c.round, c.state !== "none");
    }
    act.appendChild(b);
  }
  show("units");
  say("");
}

function fillSelect(sel, pairs, value) {
  sel.textContent = "";
  for (const [v, t] of pairs) { const o = document.createElement("option"); o.value = v; o.textContent = t; sel.appendChild(o); }
  if (value !== undefined) sel.value = value;
}

function positionWords() {
  const party = $("committee").value === "party_branch";
  return [["head", party ? "书记" : "主任"], ["deputy", party ? "副书记" : "副主任"], ["member", "委员"]];
}

async function openForm(unit, committee, round, prefill) {
  fillSelect($("unit"), units.map((u) => [u.code, u.name + " " + u.code]), unit);
  const u = units.find((x) => x.code === unit);
  fillSelect($("committee"), u.committees.map((c) => [c.committee, COMMITTEES[c.committee]]), committee);
  $("round").value = String(round);
  clearForm();
  current = { unit, committee, round };
  const r = await api("GET", `/api/result?unit=${unit}&committee=${committee}&round=${round}`);
  if (r.status !== 200) { say(r.data.error); return; }
  $("revision").textContent = r.data.next_revision;
  $("form-title").textContent = u.name + " · " + COMMITTEES[committee] + " · 第 " + round + " 轮 · 修订 " + r.data.next_revision;
  if (prefill && r.data.report) fillForm(r.data.report);
  else addCandidate();
  $("save-state").textContent = ""; $("save-state").dataset.state = "";
  $("sheet-link").hidden = true;
  relabel();
  show("form");
  document.body.dataset.revision = String(r.data.next_revision);
  await check();
}

function clearForm() {
  for (const id of ["registered", "excused", "took_part", "proxy_votes", "issued", "returned", "valid",
    "invalid", "seats_head", "seats_deputy", "seats_member", "held_on"]) $(id).value = "";
  $("announced_on_site").checked = false;
  $("candidates").tBodies[0].textContent = "";
  $("findings").textContent = "";
  elect = [];
}

function fillForm(r) {
  $("held_on").value = r.held_on || "";
  $("ballot_mode").value = r.ballot_mode;
  for (const k of ["registered", "excused", "took_part", "proxy_votes"]) $(k).value = r.electorate[k] || 0;
  for (const k of ["issued", "returned", "valid", "invalid"]) $(k).value = r.ballots[k] || 0;
  for (const k of ["head", "deputy", "member"]) $("seats_" + k).value = r.seats[k] || "";
  $("announced_on_site").checked = !!(r.attestation && r.attestation.announced_on_site);
  current.photo = r.attestation && r.attestation.sheet_photo_sha256;
  for (const c of r.candidates) addCandidate(c);
}

function cell(tr, el) { tr.insertCell().appendChild(el); return el; }
function input(type, key, value) {
  const el = document.createElement("input");
  el.type = type; el.dataset.key = key;
  if (type === "checkbox") el.checked = !!value; else el.value = value === undefined ? "" : value;
  return el;
}
function select(key, pairs, value) {
  const el = document.createElement("select"); el.dataset.key = key;
  fillSelect(el, pairs, value); return el;
}

function addCandidate(c) {
  c = c || {};
  const tbody = $("candidates").tBodies[0];
  const tr = tbody.insertRow();
  const n = tbody.rows.length;
  cell(tr, input("text", "id", c.id || "C" + String(n).padStart(2, "0")));
  cell(tr, input("text", "name", c.name));
  cell(tr, select("position", positionWords(), c.position || "member"));
  cell(tr, input("number", "votes_for", c.votes_for));
  cell(tr, input("checkbox", "elected", c.elected));
  cell(tr, select("gender", [["", "—"], ["male", "男"], ["female", "女"]], c.gender || ""));
  cell(tr, input("text", "ethnicity", c.ethnicity));
  cell(tr, input("number", "birth_year", c.birth_year));
  cell(tr, select("education", EDUCATION, c.education || ""));
  for (const k of ["party_member", "reelected", "concurrent_head", "cross_serving"]) cell(tr, input("checkbox", k, c[k]));
  const rm = document.createElement("button");
  rm.type = "button"; rm.textContent = "删除"; rm.className = "remove";
  rm.onclick = () => { tr.remove(); renumber(); schedule(); };
  cell(tr, rm);
  renumber();
}

// Each input names its field as the validator does: candidates[i].key.
function renumber() {
  const rows = $("candidates").tBodies[0].rows;
  for (let i = 0; i < rows.length; i++) {
    rows[i].dataset.field = `candidates[${i}]`;
    for (const el of rows[i].querySelectorAll("[data-key]")) el.dataset.field = `candidates[${i}].${el.dataset.key}`;
  }
}

function relabel() {
  const words = positionWords();
  document.querySelector(".head-word").textContent = words[0][1];
  document.querySelector(".deputy-word").textContent = words[1][1];
  for (const sel of document.querySelectorAll('#candidates select[data-key="position"]')) {
    const v = sel.value; fillSelect(sel, words, v);
  }
}

const num = (id) => { const v = $(id).value.trim(); return v === "" ? 0 : Number(v); };

function collect() {
  const seats = {};
  for (const k of ["head", "deputy", "member"]) { const v = num("seats_" + k); if (v) seats[k] = v; }
  const report = {
    unit: $("unit").value, committee: $("committee").value, round: Number($("round").value),
    revision: Number($("revision").textContent) || 1,
    electorate: { registered: num("registered"), excused: num("excused"), took_part: num("took_part"), proxy_votes: num("proxy_votes") },
    ballots: { issued: num("issued"), returned: num("returned"), valid: num("valid"), invalid: num("invalid") },
    ballot_mode: $("ballot_mode").value, seats, candidates: [],
    attestation: { announced_on_site: $("announced_on_site").checked },
  };
  if ($("held_on").value) report.held_on = $("held_on").value;
  if (current && current.photo) report.attestation.sheet_photo_sha256 = current.photo;
  for (const tr of $("candidates").tBodies[0].rows) {
    const get = (k) => tr.querySelector(`[data-key="${k}"]`);
    const c = { id: get("id").value.trim(), name: get("name").value.trim(), position: get("position").value,
      votes_for: Number(get("votes_for").value) || 0, elected: get("elected").checked };
    for (const k of ["party_member", "reelected", "concurrent_head", "cross_serving"]) c[k] = get(k).checked;
    if (c.elected) c.position_won = c.position;
    if (get("gender").value) c.gender = get("gender").value;
    if (get("ethnicity").value.trim()) c.ethnicity = get("ethnicity").value.trim();
    if (get("birth_year").value) c.birth_year = Number(get("birth_year").value);
    if (get("education").value) c.education = get("education").value;
    report.candidates.push(c);
  }
  return report;
}

// A finding at its field: the input itself, else the nearest whole it is
// part of (a candidate's row, the seats), else only in the list below.
function place(f) {
  let path = f.field;
  while (path) {
    const el = document.querySelector(`#form [data-field="${CSS.escape(path)}"]`);
    if (el) return el;
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    path = cut > 0 ? path.slice(0, cut) : "";
  }
  return null;
}

function render(answer) {
  for (const el of document.querySelectorAll("#form .bad, #form .warn")) el.classList.remove("bad", "warn");
  for (const el of document.querySelectorAll("#form .msg")) el.remove();
  const list = $("findings");
  list.textContent = "";
  for (const f of answer.findings) {
    const li = document.createElement("li");
    li.className = "finding-" + f.severity; li.dataset.field = "list:" + f.field; li.dataset.reason = f.reason;
    li.textContent = f.message;
    list.appendChild(li);
    const el = place(f);
    if (!el) continue;
    el.classList.add(f.severity === "error" ? "bad" : "warn");
    const msg = document.createElement("span");
    msg.className = "msg " + f.severity; msg.dataset.for = f.field; msg.textContent = f.message;
    (el.closest("td, label, fieldset") || el).appendChild(msg);
  }
  elect = answer.elect || [];
  $("save").disabled = !answer.accepted;
  document.body.dataset.checked = String(Number(document.body.dataset.checked || 0) + 1);
  document.body.dataset.accepted = answer.accepted ? "1" : "0";
}

async function check() {
  const r = await api("POST", "/api/check", collect());
  if (r.status !== 200) { say(r.data.error || "检查失败"); return; }
  render(r.data);
}

function schedule() { clearTimeout(checkTimer); checkTimer = setTimeout(check, 250); }

$("form").addEventListener("input", schedule);
$("form").addEventListener("change", (e) => { if (e.target.id === "committee") relabel(); schedule(); });
$("add-candidate").addEventListener("click", () => { addCandidate(); schedule(); });
$("fill-elected").addEventListener("click", async () => {
  await check();
  const rows = $("candidates").tBodies[0].rows;
  for (let i = 0; i < rows.length && i < elect.length; i++) rows[i].querySelector('[data-key="elected"]').checked = elect[i];
  await check();
});
$("back").addEventListener("click", () => { clearInterval(pollTimer); showUnits(); });

function showState(state, text) {
  $("save-state").dataset.state = state; $("save-state").textContent = text;
}

$("save").addEventListener("click", async () => {
  $("save").disabled = true;
  const r = await api("POST", "/api/save", collect());
  if (r.status !== 200) {
    if (r.data.findings) render(r.data);
    showState("refused", (r.data.error || "未保存") + (r.data.detail ? "：" + r.data.detail : ""));
    return;
  }
  const seq = r.data.sequence, saved = current;
  showState("queued", STATES.queued + "（消息 " + seq + "，修订 " + r.data.revision + "）");
  clearInterval(pollTimer);
  pollTimer = setInterval(async () => {
    const m = await api("GET", "/api/message?seq=" + seq);
    if (m.status !== 200) return;
    const s = m.data.state;
    if (s === "rejected") {
      clearInterval(pollTimer);
      showState("rejected", STATES.rejected + "：" + rejection(m.data.reason, m.data.detail));
      const again = document.createElement("button");
      again.id = "revise"; again.textContent = "修改后按下一修订重报";
      again.onclick = () => openForm(saved.unit, saved.committee, saved.round, true);
      $("save-state").appendChild(again);
    } else if (s === "accepted") {
      clearInterval(pollTimer);
      showState("accepted", STATES.accepted + "（消息 " + seq + "）");
      // The posting sheet (/sheet?seq=N), where the agent knows the
      // province's check page; no link rather than a dead one.
      if (window.TF_SHEET) { $("sheet-link").firstChild.href = "/sheet?seq=" + seq; $("sheet-link").hidden = false; }
    } else showState(s, STATES[s] + "（消息 " + seq + "）");
  }, 500);
});

start();
