#!/usr/bin/env python3
# sandbox_paths.py: every path in a shipped example configuration can be used
# by its daemon under its unit's sandbox, read from the unit's own
# directives (ProtectSystem=, ProtectHome=, PrivateTmp=, StateDirectory=,
# ReadWritePaths=, InaccessiblePaths=, UMask=) and from a tmpfiles.d file:
#   outputs (the agent's spool and inbox) must lie where the unit may write;
#   inputs (keys, certificates, the registry, the database's socket) must
#   not be hidden (ProtectHome=, InaccessiblePaths=) nor private (PrivateTmp=);
#   the agent's UMask must leave refused/ readable to its group (the staff),
#   and the inbox must be writable by that group (the tmpfiles.d entry).
# Usage: sandbox_paths.py UNITDIR EXAMPLEDIR TMPFILES (tests/integration/systemd.sh).  Prints one line per
# path; exit 1 if any fails.
import os, re, sys

unitdir, exdir, tmpfiles = sys.argv[1:4]
failures = 0

def say(ok, text):
    global failures
    print(("ok: " if ok else "FAIL: ") + text)
    failures += 0 if ok else 1

def unit_settings(path):
    d = {}
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        d.setdefault(k.strip(), []).extend(v.split())
    return d

def zpl(path):
    """ZPL key paths and values: {"agent/spool": "/var/lib/..."}."""
    out, stack = {}, []
    for line in open(path):
        body = line.rstrip()
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        depth = (len(body) - len(body.lstrip())) // 4
        m = re.match(r'\s*([\w-]+)\s*(?:=\s*(?:"([^"]*)"|(\S+)))?', body)
        if not m:
            continue
        del stack[depth:]
        stack.append(m.group(1))
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value is not None:
            out["/".join(stack)] = value
    return out

def under(path, roots):
    path = os.path.normpath(path)
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

def sandbox(u):
    """(writable roots, hidden roots, private roots) of a unit."""
    writable, hidden, private = [], [], []
    strict = u.get("ProtectSystem", ["no"])[-1]
    if strict == "strict":
        writable += ["/dev", "/proc", "/sys"]
    elif strict in ("yes", "full", "true"):
        writable += ["/var", "/home", "/root", "/run", "/tmp", "/srv", "/opt", "/mnt", "/media"]
    else:
        writable += ["/"]
    for name in u.get("StateDirectory", []):
        writable.append("/var/lib/" + name)
    for name in u.get("CacheDirectory", []):
        writable.append("/var/cache/" + name)
    for name in u.get("LogsDirectory", []):
        writable.append("/var/log/" + name)
    for name in u.get("RuntimeDirectory", []):
        writable.append("/run/" + name)
    writable += [p.lstrip("-+") for p in u.get("ReadWritePaths", [])]
    if u.get("ProtectHome", ["no"])[-1] in ("yes", "true"):
        hidden += ["/home", "/root", "/run/user"]
    hidden += [p.lstrip("-+") for p in u.get("InaccessiblePaths", [])]
    if u.get("PrivateTmp", ["no"])[-1] in ("yes", "true"):
        private += ["/tmp", "/var/tmp"]
    return writable, hidden, private

# Which keys name something the daemon writes; every other path is read.
OUTPUTS = {"agent/spool", "agent/inbox"}

def paths(cfg):
    for key, value in cfg.items():
        if value.startswith("/"):
            yield key, value
        for host in re.findall(r"\bhost=(/\S+)", value):
            yield key + " (host)", host

def tmpfiles_entries(path):
    entries = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            if len(f) >= 5 and not f[0].startswith("#"):
                entries[os.path.normpath(f[1])] = (f[0], f[2], f[3], f[4])
    return entries

tmp = tmpfiles_entries(tmpfiles)
pairs = [("agent.cfg", "tallyfeed-agent.service"), ("collector.cfg", "tallyfeed-collector.service"),
         ("web.cfg", "tallyfeed-web.service"), ("console.cfg", None)]
for cfgname, unitname in pairs:
    cfg = zpl(os.path.join(exdir, cfgname))
    if unitname is None:
        # tallyfeed is run by people, not by a unit: its paths are the
        # ones the daemons use (the same database).
        ref = zpl(os.path.join(exdir, "collector.cfg"))
        want = set(h for _, h in paths(ref) if _.endswith("(host)"))
        for key, p in paths(cfg):
            say(p in want, "%s: %s = %s is where the collector's database is (%s)"
                % (cfgname, key, p, ", ".join(sorted(want))))
        continue
    u = unit_settings(os.path.join(unitdir, unitname))
    writable, hidden, private = sandbox(u)
    user = u.get("User", ["root"])[-1]
    for key, p in paths(cfg):
        if key in OUTPUTS:
            ok = under(p, writable) and not under(p, hidden) and not under(p, private)
            say(ok, "%s: %s = %s is writable under %s (%s)" % (cfgname, key, p, unitname,
                    " ".join(w for w in writable if w.startswith("/var"))))
        else:
            ok = not under(p, hidden) and not under(p, private)
            say(ok, "%s: %s = %s is readable under %s" % (cfgname, key, p, unitname))
    if cfgname == "agent.cfg":
        umask = int(u.get("UMask", ["0022"])[-1], 8)
        # refused/ and queued/ are made 0750 and .why files 0666, less the UMask.
        say((0o750 & ~umask) & 0o050 == 0o050 and (0o666 & ~umask) & 0o040 == 0o040,
            "%s: UMask=%04o leaves refused/ and its .why files readable to group %s"
            % (unitname, umask, u.get("Group", [user])[-1]))
        inbox = os.path.normpath(cfg.get("agent/inbox", ""))
        e = tmp.get(inbox)
        say(e is not None and e[0] in ("d", "D") and e[2] == user and int(e[1], 8) & 0o070 == 0o070,
            "%s: the inbox %s is made by tmpfiles.d, the agent's, writable by its group: %s"
            % (cfgname, inbox, " ".join(e) if e else "no entry in " + tmpfiles))
sys.exit(1 if failures else 0)
