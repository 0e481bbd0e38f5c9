#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""search_quality.py - how good the search is on CIFAR-100 at a cheap proxy
fidelity (issue 6, part 11). A measurement for the notes, not a test.

1. Hypervolume after N evaluated candidates, `evolution` vs `random`, for
   several seeds: each run is a real `lmnas search` job (proxy training only,
   no final phase) against a private PostgreSQL; the hypervolume after every
   round is read back from the job's rounds.
2. Kendall tau between the proxy's ranking and a longer training's ranking
   of the same architectures: the first TAU_N trained candidates of the
   first random run (the proxy accuracy is what the search stored), each
   trained again with `lmnas train` at a second, dearer proxy and at the
   long fidelity, on the same validation split (same seed).

Both fidelities and the search run in the narrowed space written below
(32 px, 1..3 layers per stage, 16..96 channels) under small-MCU limits
(20 M MACs, 160 KiB SRAM, 512 KiB flash), so that a run takes minutes on two
cores. Run from the project root:

    /usr/bin/python3 tools/search_quality.py [--seeds 3] [--rounds 5]
        [--per-round 4] [--tau-n 12] [--long EPOCHS:FRACTION] [--out DIR]

Prints a summary and writes DIR/search_quality.json. Needs build/release/
lmnas (`make build`) and the CIFAR-100 binary files (LMNAS_CIFAR100, default
../shared/data/cifar-100-binary).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LMNAS = os.path.join(ROOT, "build", "release", "lmnas")
DATA = os.environ.get("LMNAS_CIFAR100",
                      os.path.join(ROOT, "..", "shared", "data",
                                   "cifar-100-binary"))
LIMITS = {"target": None, "max_macs": 20_000_000, "max_sram": 160 * 1024,
          "max_flash": 512 * 1024}
# the search's proxy; a second proxy (the job spec's default fidelity); the
# long training the rankings are compared with
PROXY = {"epochs": 2, "train_fraction": 0.1, "batch": 64, "lr": 0.05}
PROXY2 = {"epochs": 3, "train_fraction": 0.2, "batch": 128, "lr": 0.05}
LONG = {"epochs": 4, "train_fraction": 0.4, "batch": 128, "lr": 0.05}


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, env=env, check=True, text=True,
                          capture_output=True, **kw)


def narrowed_space():
    full = json.loads(run([LMNAS, "space", "show", "--json"]).stdout)
    full["resolution"] = [32]
    full["layers"] = [1, 2, 3]
    full["out"] = [16, 24, 32, 48, 64, 96]
    return full


def job_spec(name, proposer, seed, space, args, threads):
    return {
        "name": name,
        "dataset": {"kind": "cifar100", "path": DATA},
        "space": space,
        "constraints": LIMITS,
        "proposer": proposer,
        "llm": {"candidates_per_round": args.per_round},
        "evolution": {"population": args.population,
                      "sample_size": args.sample_size},
        "budget": {"rounds": args.rounds,
                   "max_candidates": args.rounds * args.per_round,
                   "proxy": PROXY,
                   "final": {"top_k": 0}},
        "threads": threads,
        "seed": seed,
    }


def kendall_tau_b(x, y):
    """Kendall's tau-b (ties in either ranking counted as in scipy)."""
    n = len(x)
    conc = disc = tx = ty = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx = (x[i] > x[j]) - (x[i] < x[j])
            dy = (y[i] > y[j]) - (y[i] < y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tx += 1
            elif dy == 0:
                ty += 1
            elif dx == dy:
                conc += 1
            else:
                disc += 1
    denom = ((conc + disc + tx) * (conc + disc + ty)) ** 0.5
    return (conc - disc) / denom if denom else float("nan")


def search(env, spec, workdir):
    path = os.path.join(workdir, spec["name"] + ".json")
    with open(path, "w") as f:
        json.dump(spec, f)
    t0 = time.time()
    out = run([LMNAS, "--log-level", "warn", "search", path], env=env).stdout
    secs = time.time() - t0
    job_id = None
    for line in out.splitlines():
        if line.startswith("job ") and "submitted" in line:
            job_id = int(line.split()[1])
    if job_id is None:
        sys.exit("search_quality: no job id in:\n" + out)
    show = json.loads(run([LMNAS, "job", "show", str(job_id), "--json"],
                          env=env).stdout)
    return job_id, show, secs


def hv_curve(show, per_round):
    """[(evaluated, hypervolume)] after every finished round."""
    trained_by_round = {}
    for c in show["candidates"]:
        if c["status"] == "trained":
            trained_by_round[c["round"]] = trained_by_round.get(
                c["round"], 0) + 1
    curve, n = [], 0
    for r in show["rounds"]:
        n += trained_by_round.get(r["round"], 0)
        curve.append((n, r["hypervolume"]))
    return curve


def train(env, arch_path, fidelity, out_dir, threads, seed):
    cmd = [LMNAS, "--log-level", "warn", "train", "--arch", arch_path,
           "--data", DATA, "--out", out_dir, "--no-test",
           "--epochs", str(fidelity["epochs"]),
           "--train-fraction", str(fidelity["train_fraction"]),
           "--batch", str(fidelity["batch"]), "--lr", str(fidelity["lr"]),
           "--threads", str(threads), "--seed", str(seed)]
    t0 = time.time()
    run(cmd, env=env)
    with open(os.path.join(out_dir, "result.json")) as f:
        res = json.load(f)
    return res["val"]["top1"], time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=4)
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--sample-size", type=int, default=3)
    ap.add_argument("--tau-n", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long", default=None, metavar="EPOCHS:FRACTION",
                    help=f"the long fidelity (default {LONG['epochs']}:"
                    f"{LONG['train_fraction']})")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.long:
        e, f = args.long.split(":")
        LONG.update(epochs=int(e), train_fraction=float(f))
    if not os.path.exists(os.path.join(DATA, "train.bin")):
        sys.exit(f"search_quality: {DATA}/train.bin missing "
                 "(set LMNAS_CIFAR100)")
    if not os.access(LMNAS, os.X_OK):
        run(["make", "-C", ROOT, "build"])
    out = args.out or tempfile.mkdtemp(prefix="lmnas-sq-")
    os.makedirs(out, exist_ok=True)
    pgdir = tempfile.mkdtemp(prefix="sqpg", dir="/tmp")
    os.chmod(pgdir, 0o755)
    pg = os.path.join(ROOT, "scripts", "pg.sh")
    run(["bash", pg, "start", pgdir, "--fast"])
    result = {"limits": LIMITS, "proxy": PROXY, "proxy2": PROXY2,
              "long": LONG, "args": vars(args), "runs": [], "tau": {}}
    try:
        url = run(["bash", pg, "url", pgdir]).stdout.strip()
        env = dict(os.environ, LMNAS_DATABASE_URL=url)
        run([LMNAS, "migrate"], env=env)
        space = narrowed_space()
        for seed in range(1, args.seeds + 1):
            for proposer in ("random", "evolution"):
                name = f"sq-{proposer}-s{seed}"
                spec = job_spec(name, proposer, seed, space, args,
                                args.threads)
                job_id, show, secs = search(env, spec, out)
                curve = hv_curve(show, args.per_round)
                trained = [c for c in show["candidates"]
                           if c["status"] == "trained"]
                best = max((c["val_top1"] for c in trained), default=0)
                result["runs"].append({
                    "proposer": proposer, "seed": seed, "job": job_id,
                    "seconds": round(secs, 1), "curve": curve,
                    "best_val_top1": best, "trained": len(trained)})
                print(f"{name}: job {job_id}, {len(trained)} trained in "
                      f"{secs:.0f} s, HV {curve[-1][1]:.4f}, best val "
                      f"top-1 {100 * best:.2f}%", flush=True)
                with open(os.path.join(out, "search_quality.json"),
                          "w") as f:
                    json.dump(result, f, indent=1)
        # Kendall tau on the first random run's candidates
        first = next(r for r in result["runs"] if r["proposer"] == "random")
        rows = run(["psql", url, "-At", "-F", "\t", "-c",
                    "SELECT id, val_top1, arch FROM candidates WHERE "
                    f"job_id = {int(first['job'])} AND status = 'trained' "
                    "ORDER BY id"]).stdout.splitlines()
        cands = []
        for row in rows[:args.tau_n]:
            cid, acc, arch = row.split("\t", 2)
            cands.append({"id": int(cid), "proxy": float(acc),
                          "arch": json.loads(arch)})
        for c in cands:
            apath = os.path.join(out, f"cand{c['id']}.json")
            with open(apath, "w") as f:
                json.dump(c["arch"], f)
            for key, fid in (("proxy2", PROXY2), ("long", LONG)):
                acc, secs = train(env, apath, fid,
                                  os.path.join(out, f"{key}{c['id']}"),
                                  args.threads, first["seed"])
                c[key] = acc
                c[key + "_s"] = round(secs, 1)
            print(f"candidate {c['id']}: proxy {100 * c['proxy']:.2f}%  "
                  f"proxy2 {100 * c['proxy2']:.2f}%  long "
                  f"{100 * c['long']:.2f}%", flush=True)
            del c["arch"]
            result["tau"]["candidates"] = cands
            with open(os.path.join(out, "search_quality.json"), "w") as f:
                json.dump(result, f, indent=1)
        long = [c["long"] for c in cands]
        result["tau"]["proxy_vs_long"] = kendall_tau_b(
            [c["proxy"] for c in cands], long)
        result["tau"]["proxy2_vs_long"] = kendall_tau_b(
            [c["proxy2"] for c in cands], long)
    finally:
        subprocess.run(["bash", pg, "stop", pgdir], capture_output=True)
        subprocess.run(["rm", "-rf", pgdir])
    with open(os.path.join(out, "search_quality.json"), "w") as f:
        json.dump(result, f, indent=1)
    summarize(result)
    print(f"written: {out}/search_quality.json")


def summarize(result):
    print("\nhypervolume after N evaluated candidates (mean over seeds, "
          "min..max)")
    by = {}
    for r in result["runs"]:
        for n, hv in r["curve"]:
            by.setdefault((r["proposer"], n), []).append(hv)
    ns = sorted({n for (_, n) in by})
    print("   N   " + "   ".join(f"{p:>22}" for p in ("random", "evolution")))
    for n in ns:
        cells = []
        for p in ("random", "evolution"):
            v = by.get((p, n), [])
            cells.append(f"{statistics.mean(v):.4f} ({min(v):.4f}..{max(v):.4f})"
                         if v else " " * 22)
        print(f"{n:4d}   " + "   ".join(f"{c:>22}" for c in cells))
    for p in ("random", "evolution"):
        best = [r["best_val_top1"] for r in result["runs"]
                if r["proposer"] == p]
        if best:
            print(f"best proxy val top-1, {p}: mean "
                  f"{100 * statistics.mean(best):.2f}%")
    t = result["tau"]
    if "proxy_vs_long" in t:
        print(f"Kendall tau-b over {len(t['candidates'])} architectures: "
              f"proxy ({PROXY['epochs']} ep, {PROXY['train_fraction']}) vs "
              f"long ({LONG['epochs']} ep, {LONG['train_fraction']}): "
              f"{t['proxy_vs_long']:.3f}; proxy2 ({PROXY2['epochs']} ep, "
              f"{PROXY2['train_fraction']}) vs long: "
              f"{t['proxy2_vs_long']:.3f}")


if __name__ == "__main__":
    main()
