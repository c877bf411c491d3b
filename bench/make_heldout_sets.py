"""Build held-out measurement sets from real files on this machine, outside the dev corpus.

    python bench/make_heldout_sets.py OUT [SEED] [PER_CATEGORY] [MIN_BYTES] [MAX_BYTES]

The thirteenth session's sets: ``OUT=/work/sets/held SEED=s13 8 8000 2000000`` and
``OUT=/work/sets/small SEED=s13b 10 3000 40000`` (delete ``small/log/*.xz``: a
compressed file named .log). Candidates come from /usr, /root/.pyenv, /opt,
/var/log and /etc by name (json, xml/wadl/xsd, html, md/rst/NEWS/CHANGELOG,
.log, csv), are ordered by sha1(SEED + path) and taken one per directory and
name until PER_CATEGORY are in; JSON must parse and text must be UTF-8. The
JSON-lines files are made from JSON candidates whose top level (or a value of
it) is a list or mapping of at least 50 objects, one compact object per line.
``OUT/MANIFEST.tsv`` lists category, source path and size. The dev corpus's
local logs come from the same /var/log: check the log folder for copies.
"""
import hashlib, json, os, sys, shutil, subprocess
OUT = sys.argv[1]; SEED = sys.argv[2] if len(sys.argv) > 2 else "s13"
N = int(sys.argv[3]) if len(sys.argv) > 3 else 8
LO, HI = int(sys.argv[4]) if len(sys.argv) > 4 else 8000, int(sys.argv[5]) if len(sys.argv) > 5 else 2_000_000
roots = ["/usr", "/root/.pyenv", "/opt", "/var/log", "/etc"]
cand = {k: [] for k in ("json", "xml", "html", "text", "log", "csv")}
for root in roots:
    for dp, dn, fn in os.walk(root):
        if "/work" in dp: continue
        for f in fn:
            p = os.path.join(dp, f)
            try:
                if os.path.islink(p) or not os.path.isfile(p): continue
                sz = os.path.getsize(p)
            except OSError: continue
            if not (LO <= sz <= HI): continue
            fl = f.lower()
            if fl.endswith(".json"): cand["json"].append(p)
            elif fl.endswith((".xml", ".wadl", ".xsd")): cand["xml"].append(p)
            elif fl.endswith((".html", ".htm")): cand["html"].append(p)
            elif fl.endswith((".md", ".rst")) or fl.startswith(("news", "changelog", "changes")) and not fl.endswith((".gz",".html")): cand["text"].append(p)
            elif fl.endswith(".log") or "/var/log/" in p and not fl.endswith(".gz"): cand["log"].append(p)
            elif fl.endswith(".csv"): cand["csv"].append(p)
def key(p): return hashlib.sha1((SEED + p).encode()).hexdigest()
def ok(cat, data):
    if cat == "json":
        try: json.loads(data); return True
        except Exception: return False
    try: data.decode("utf-8")
    except UnicodeDecodeError: return cat == "log"
    return True
manifest = []
jsonl_src = []
for cat, ps in cand.items():
    os.makedirs(f"{OUT}/{cat}", exist_ok=True)
    seen_dirs, seen_names, n = set(), set(), 0
    for p in sorted(ps, key=key):
        d = os.path.dirname(p); b = os.path.basename(p)
        if d in seen_dirs or b in seen_names: continue
        data = open(p, "rb").read()
        if not ok(cat, data): continue
        seen_dirs.add(d); seen_names.add(b)
        shutil.copy(p, f"{OUT}/{cat}/{n:02d}_{b}"); manifest.append((cat, p, len(data))); n += 1
        if n >= N: break
# JSON lines: records of json files shaped as list of dicts / dict of dicts
os.makedirs(f"{OUT}/jsonl", exist_ok=True); n = 0
for p in sorted(cand["json"], key=key):
    try: obj = json.loads(open(p, "rb").read())
    except Exception: continue
    recs = None
    if isinstance(obj, list) and len(obj) >= 50 and all(isinstance(r, dict) for r in obj): recs = obj
    elif isinstance(obj, dict):
        for v in obj.values():
            if isinstance(v, dict) and len(v) >= 50 and all(isinstance(r, dict) for r in v.values()):
                recs = [dict(name=k, **r) if "name" not in r else r for k, r in v.items()]; break
            if isinstance(v, list) and len(v) >= 50 and all(isinstance(r, dict) for r in v): recs = v; break
    if not recs: continue
    text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in recs)
    if len(text) < LO: continue
    open(f"{OUT}/jsonl/{n:02d}_{os.path.basename(p)}l", "w").write(text); manifest.append(("jsonl", p, len(text))); n += 1
    if n >= N: break
with open(f"{OUT}/MANIFEST.tsv", "w") as f:
    for m in manifest: f.write("\t".join(map(str, m)) + "\n")
for cat in cand: print(cat, len(cand[cat]), "candidates")
