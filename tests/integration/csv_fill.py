#!/usr/bin/env python3
"""Fill in a spreadsheet template (tallyfeed-agent template) the way township
staff do in WPS or Excel: find each election's row by its unit code and
committee, type the figures in, and put its candidates on the rows below,
inserting rows where the template has too few.  The figures come from result
files in the JSON format (deploy/examples/*.json), written as the Chinese words
the template's headers ask for.

    csv_fill.py TEMPLATE.csv OUT.csv ENCODING RESULT.json...

ENCODING is what the spreadsheet program saves: utf-8-sig ("CSV UTF-8"),
utf-8 (no BOM), or gb18030 (Excel's "CSV (逗号分隔)" on Chinese Windows).
Lines end in CRLF, as Excel writes them.

    csv_fill.py --edit IN.csv OUT.csv ENCODING UNIT COMMITTEE HEADER VALUE

changes one cell of an election's row (IN is read as UTF-8 or GB18030) and
prints where it is as the spreadsheet shows it: ROW LETTER."""

import csv
import io
import json
import sys

COMMITTEE = {"villagers": "村民委员会", "residents": "居民委员会", "party_branch": "党支部委员会"}
POSITION = {
    "villagers": {"head": "主任", "deputy": "副主任", "member": "委员"},
    "residents": {"head": "主任", "deputy": "副主任", "member": "委员"},
    "party_branch": {"head": "书记", "deputy": "副书记", "member": "委员"},
}
MODE = {"combined": "合并选票", "per_position": "分职位选票"}
GENDER = {"male": "男", "female": "女"}
EDUCATION = {"primary": "小学", "junior_secondary": "初中", "senior_secondary": "高中",
             "junior_college": "大专", "bachelor": "本科", "postgraduate": "研究生"}


def yes(value):
    return "是" if value else "否"


def column(header, name):
    """The column whose header is name (before its hint in （…）)."""
    for i, cell in enumerate(header):
        if cell.split("（")[0] == name:
            return i
    raise SystemExit(f"no column {name}")


def letter(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("A") + r) + s
    return s


def read_rows(path):
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return list(csv.reader(io.StringIO(text, newline="")))


def write_rows(path, rows, encoding):
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(text.getvalue())


def edit(src, out, encoding, unit, committee, header, value):
    rows = read_rows(src)
    c = column(rows[0], header)
    at = next(i for i, row in enumerate(rows)
              if row[0].replace(" ", "") == unit and row[2] == committee)
    rows[at][c] = value
    write_rows(out, rows, encoding)
    print(at + 1, letter(c))


def main():
    if sys.argv[1] == "--edit":
        return edit(*sys.argv[2:])
    template, out, encoding, *results = sys.argv[1:]
    with open(template, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    col = {name: column(header, name) for name in [
        "单位代码", "单位名称", "委员会", "轮次", "选举日期", "登记选民数", "请假人数", "参加投票人数",
        "委托投票数", "发出选票数", "收回选票数", "有效票数", "无效票数", "选票方式", "主任/书记职数",
        "副主任/副书记职数", "委员职数", "结果照片SHA256", "当场公布", "候选人编号", "候选人姓名",
        "参选职务", "得票数", "反对票", "弃权票", "是否当选", "性别", "民族", "出生年份", "文化程度",
        "党员", "连任", "一肩挑", "交叉任职"]}
    for path in results:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
        at = next(i for i, row in enumerate(rows)
                  if row[col["单位代码"]].replace(" ", "") == r["unit"]
                  and row[col["委员会"]] == COMMITTEE[r["committee"]])
        row = rows[at]
        e, b, s = r["electorate"], r["ballots"], r["seats"]
        row[col["轮次"]] = str(r["round"])
        row[col["选举日期"]] = r.get("held_on", "").replace("-", "/")   # as Excel shows a date
        row[col["登记选民数"]] = str(e["registered"])
        row[col["请假人数"]] = str(e.get("excused", 0))
        row[col["参加投票人数"]] = str(e["took_part"])
        row[col["委托投票数"]] = str(e.get("proxy_votes", 0))
        row[col["发出选票数"]] = str(b["issued"])
        row[col["收回选票数"]] = str(b["returned"])
        row[col["有效票数"]] = str(b["valid"])
        row[col["无效票数"]] = str(b["invalid"])
        row[col["选票方式"]] = MODE[r["ballot_mode"]]
        row[col["主任/书记职数"]] = str(s.get("head", ""))
        row[col["副主任/副书记职数"]] = str(s.get("deputy", ""))
        row[col["委员职数"]] = str(s.get("member", ""))
        att = r.get("attestation", {})
        row[col["结果照片SHA256"]] = att.get("sheet_photo_sha256", "")
        row[col["当场公布"]] = yes(att.get("announced_on_site", False))
        # The template's empty rows for candidates, then rows inserted.
        free = at + 1
        for c in r["candidates"]:
            if free >= len(rows) or rows[free][col["单位代码"]] != "" \
                    or any(v for i, v in enumerate(rows[free]) if i != col["单位名称"]):
                rows.insert(free, [""] * len(header))
            cand = rows[free]
            cand[col["候选人编号"]] = c["id"]
            cand[col["候选人姓名"]] = c["name"]
            cand[col["参选职务"]] = POSITION[r["committee"]][c["position"]]
            cand[col["得票数"]] = str(c["votes_for"])
            cand[col["反对票"]] = str(c.get("votes_against", 0))
            cand[col["弃权票"]] = str(c.get("votes_abstain", 0))
            cand[col["是否当选"]] = yes(c["elected"])
            cand[col["性别"]] = GENDER.get(c.get("gender"), "")
            cand[col["民族"]] = c.get("ethnicity", "")
            cand[col["出生年份"]] = str(c.get("birth_year", ""))
            cand[col["文化程度"]] = EDUCATION.get(c.get("education"), "")
            cand[col["党员"]] = yes(c.get("party_member", False))
            cand[col["连任"]] = yes(c.get("reelected", False))
            cand[col["一肩挑"]] = yes(c.get("concurrent_head", False))
            cand[col["交叉任职"]] = yes(c.get("cross_serving", False))
            free += 1
    write_rows(out, rows, encoding)


if __name__ == "__main__":
    main()
