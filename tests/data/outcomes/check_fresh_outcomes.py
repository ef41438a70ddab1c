"""Reproduce the sample draw and check the fresh outcome annotation files.

Only checks; it assigns no labels. Run from anywhere:
    python tests/data/outcomes/check_fresh_outcomes.py
"""
import csv, hashlib, json, random, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[3] / "shared" / "data"   # ../shared/data from the repo root
if not SHARED.exists():
    SHARED = Path("/work/shared/data")

# Articles that qualified as `results` on reading (README step 3 rule), in pmid order.
RESULTS = """33609298 33609958 33610957 33621404 33629615 33636616 33637293 33640527 33641232 33647591
33660157 33675156 33687973 33692748 33708413 33709839 33714799 33724637 33737954 33746887
33749480 33753006 33753296 33763062""".split()

MEASURES = set("""neda relapse_free progression_free event_free edss_improved edss_stable edss_worsened
edss_change arr arr_reduction mri_activity_free overall_survival trm mortality adverse_event
response_rate hazard_ratio rate_ratio odds_ratio""".split())
UNITS = {"percent", "per_year", "points", "count", "ratio"}
RATIOS = {"hazard_ratio", "rate_ratio", "odds_ratio"}


def body(a):
    i = a.rfind("PMID:")
    return a[:i] if i >= 0 else a


def main():
    rows = list(csv.DictReader(open(SHARED / "literature/ms_articles_2021_2022.csv", encoding="utf-8")))
    dev = {json.loads(l)["pmid"] for l in open(SHARED / "labels/outcomes-dev.jsonl")}
    pool = [r for r in rows if r["pmid"] and r["abstract_truncated"] == "False"
            and len(body(r["abstract"]).rstrip()) >= 300]
    assert len(pool) == 540, len(pool)
    rem = {r["pmid"]: r for r in pool if r["pmid"] not in dev}
    assert len(rem) == 491 and all(p in rem for p in RESULTS)
    remaining = sorted(p for p in rem if p not in RESULTS)
    random.seed(20261205)
    rand = random.sample(remaining, 20)
    sample = {**{p: "results" for p in RESULTS}, **{p: "random" for p in rand}}
    split = {p: int(hashlib.sha1(p.encode()).hexdigest(), 16) % 2 for p in sample}
    errors = 0
    for fn, want in (("outcomes-fresh-dev.jsonl", 0), ("outcomes-fresh-heldout.jsonl", 1)):
        recs = [json.loads(l) for l in open(HERE / fn, encoding="utf-8")]
        pm = [d["pmid"] for d in recs]
        exp = sorted(p for p in sample if split[p] == want)
        if pm != exp:
            print(fn, "pmids differ from the draw"); errors += 1
        for d in recs:
            if d["sample"] != sample.get(d["pmid"]):
                print(fn, d["pmid"], "sample"); errors += 1
            ab = rem[d["pmid"]]["abstract"]
            for f in d["figures"]:
                e = []
                if set(f) != {"measure", "value", "unit", "n", "timepoint", "group", "event", "text", "clause"}: e.append("keys")
                if f["measure"] not in MEASURES: e.append("measure")
                if f["unit"] not in UNITS: e.append("unit")
                if ab.count(f["text"]) != 1: e.append("text not exactly once")
                if ab.count(f["clause"]) != 1: e.append("clause not exactly once")
                if f["text"] not in f["clause"]: e.append("text not inside clause")
                if (f["measure"] in RATIOS) != (f["unit"] == "ratio"): e.append("ratio unit")
                if f["measure"] in RATIOS | {"adverse_event"} and not f["event"]: e.append("event missing")
                if f["measure"] not in RATIOS | {"adverse_event"} and f["event"] is not None: e.append("event not null")
                if f["unit"] == "per_year" and f["measure"] != "arr": e.append("per_year")
                if f["unit"] == "points" and f["measure"] != "edss_change": e.append("points")
                if not isinstance(f["value"], (int, float)) or isinstance(f["value"], bool): e.append("value")
                if f["n"] is not None and not isinstance(f["n"], int): e.append("n")
                if e:
                    print(fn, d["pmid"], f["text"][:50], e); errors += 1
        print(fn, len(recs), "articles,", sum(len(d["figures"]) for d in recs), "figures")
    print("OK" if not errors else f"{errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
