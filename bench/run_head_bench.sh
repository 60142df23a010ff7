#!/usr/bin/env bash
# PIC's classifier head alone (no encoder, no images), three designs, N in {1e4, 1e5, 1.28e6,
# 1e7}, 1 and 2 ranks, in one run (issue 3, docs/benchmarks.md "PIC head versus N"):
#   full        sharded classifier, every row of the rank in the softmax;
#   sampled     sharded, K = 65536 active rows over all ranks (recent), lazy correction;
#   replicated  the original's design: [N, D] classifier on every rank, dense gradient
#               all-reduce, SGD on all N rows (the baseline of the ratios).
# Each configuration is its own process (its own peak RSS), 1 LibTorch thread per rank,
# mpiexec --bind-to none. Configurations that do not fit this machine (memory) or its time
# budget are not run; the summary extrapolates them linearly in N from the two largest
# measured N of the same design and rank count, and marks them.
#
# Usage: bench/run_head_bench.sh [BUILD_DIR] [--cap SECONDS] [--steps S] [--out FILE]
#        bench/run_head_bench.sh --summarize FILE     (table from a finished or partial run)
#   --cap    time cap per configuration, seconds (default 150): stepping stops when the next
#            step would pass it; a warm-up step longer than cap / 2 is itself the measurement
#   --steps  timed steps after 1 warm-up step (default 3)
#   --out    raw RESULT lines (default runs/head-bench/results-<UTC date-time>.txt)
# Environment: PIC_HEAD_BENCH_SIZES (default "1e4 1e5 1.28e6 1e7"), PIC_HEAD_BENCH_RANKS
# (default "1 2").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

summarize() {  # summarize FILE
  /usr/bin/python3 - "$1" <<'PY'
import sys
rows = {}
not_run = []  # (design, N, ranks) the run skipped: these, and only these, are extrapolated
for line in open(sys.argv[1]):
    if line.startswith("== ") and line.rstrip().endswith("not run (does not fit; extrapolated)"):
        words = line.split()
        not_run.append((words[1], int(float(words[2][2:])), int(words[3][6:].rstrip(":"))))
    if not line.startswith("RESULT "):
        continue
    kv = dict(item.split("=", 1) for item in line.split()[1:])
    key = (kv["design"], int(kv["N"]), int(kv["ranks"]))
    rows[key] = {"step_s": float(kv["step_s"]), "state": int(kv["state_bytes"]),
                 "peak": int(kv["peak_rss"]), "working": int(kv["working_bytes"]),
                 "sent": int(kv["sent_bytes"]), "steps": int(kv["steps"]),
                 "warm": int(kv["warmup_as_measure"]), "source": "measured"}
designs = ["full", "sampled", "replicated"]
sizes = sorted({k[1] for k in rows} | {k[1] for k in not_run})
ranks = sorted({k[2] for k in rows})

def extrapolate(design, n, r):
    known = sorted(m for (d, m, q) in rows if d == design and q == r and rows[(d, m, q)]["source"] == "measured")
    below = [m for m in known if m < n]
    if len(below) < 2:
        return None
    n1, n2 = below[-2], below[-1]
    a, b = rows[(design, n1, r)], rows[(design, n2, r)]
    out = {"source": "extrapolated from N=%g,%g" % (n1, n2), "steps": 0, "warm": 0}
    for field in ("step_s", "state", "peak", "working", "sent"):
        slope = (b[field] - a[field]) / (n2 - n1)
        out[field] = b[field] + slope * (n - n2)
    return out

for key in not_run:
    e = extrapolate(*key)
    if e:
        rows[key] = e

mb = lambda x: "%.1f" % (x / 1e6)
print("%-10s %9s %5s %10s %8s %10s %10s %10s %11s  %s" % (
    "design", "N", "ranks", "step s", "speed-up", "state MB", "peak MB", "work MB",
    "sent MB", "source"))
for r in ranks:
    for n in sizes:
        base = rows.get(("replicated", n, r))
        for d in designs:
            x = rows.get((d, n, r))
            if not x:
                continue
            speed = ""
            if base:
                speed = "%.2fx" % (base["step_s"] / x["step_s"])
                if x["source"] != "measured" or base["source"] != "measured":
                    speed += "*"
            src = x["source"]
            if src == "measured":
                src += " (%d %s step%s)" % (x["steps"], "warm-up" if x["warm"] else "timed",
                                            "" if x["steps"] == 1 else "s")
            print("%-10s %9g %5d %10.3f %8s %10s %10s %10s %11s  %s" % (
                d, n, r, x["step_s"], speed, mb(x["state"]), mb(x["peak"]), mb(x["working"]),
                "%.3f" % (x["sent"] / 1e6), src))
print("speed-up = replicated step time / this design's, same N and ranks; * = an extrapolated "
      "figure is involved")
print("state = classifier rows + momentum (+ lazy step counters) per rank; peak = peak RSS "
      "per rank (max over ranks, includes ~165 MB of process start-up); work = peak RSS - RSS "
      "after set-up")
print("sent = payload this rank hands to the collectives per step (a ring all-reduce moves "
      "~2(W-1)/W of it on the wire; with 1 rank nothing moves)")
if 1 in ranks and 2 in ranks:
    print("\nhead state per rank, 2 ranks / 1 rank (halving = 0.50):")
    for d in designs:
        ratios = []
        for n in sizes:
            a, b = rows.get((d, n, 1)), rows.get((d, n, 2))
            if a and b:
                ratios.append("N=%g: %.2f%s" % (n, b["state"] / a["state"],
                              "" if a["source"] == b["source"] == "measured" else "*"))
        print("  %-10s %s" % (d, ", ".join(ratios)))
PY
}

if [[ ${1:-} == --summarize ]]; then
  summarize "$2"
  exit 0
fi

build=$root/build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
cap=150
steps=3
out=$root/runs/head-bench/results-$(date -u +%Y%m%dT%H%M%S).txt
while (($#)); do
  case $1 in
    --cap) cap=$2; shift ;;
    --steps) steps=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "run_head_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
bin=$build/bench/pic-bench-head
if [[ ! -x $bin ]]; then
  echo "run_head_bench: no $bin (cmake --build $build --target pic-bench-head)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
sizes=${PIC_HEAD_BENCH_SIZES:-1e4 1e5 1.28e6 1e7}
rank_counts=${PIC_HEAD_BENCH_RANKS:-1 2}

{
  echo "# run_head_bench $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc --all) cores," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), " \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# batch 256 global, D 128, K 65536, 1 warm-up + up to $steps timed steps, cap ${cap}s," \
    "1 LibTorch thread per rank, mpiexec --bind-to none"
} | tee "$out"

# Not run (the summary extrapolates them): on this 24 GB, 2-core machine the full softmax at
# 1e7 needs ~4 [N / W, D] float copies (>20 GB) and ~10 min a step; the replicated design at
# 1e7 holds weight + momentum + gradient (15 GB) plus [B / W, N] logits on every rank.
skip() {  # skip DESIGN N
  [[ $2 == 1e7 && ($1 == full || $1 == replicated) ]]
}

run_one() {  # run_one DESIGN N RANKS
  echo "== $1 N=$2 ranks=$3" | tee -a "$out"
  mpiexec --oversubscribe --allow-run-as-root -n "$3" --bind-to none "$bin" --design "$1" \
    --num-instances "$2" --batch 256 --dim 128 --num-negative 65536 --warmup 1 \
    --steps "$steps" --time-cap "$cap" --threads 1 2>&1 | tee -a "$out"
  echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
}

# Cheap configurations first, the sampled head at every N next, the slow O(N) ones last.
for n in $sizes; do
  case $n in 1e4|1e5) ;; *) continue ;; esac
  for r in $rank_counts; do
    for d in full sampled replicated; do run_one $d "$n" "$r"; done
  done
done
for n in $sizes; do
  case $n in 1e4|1e5) continue ;; esac
  for r in $rank_counts; do run_one sampled "$n" "$r"; done
done
for n in $sizes; do
  case $n in 1e4|1e5) continue ;; esac
  for r in $rank_counts; do
    for d in full replicated; do
      if skip $d "$n"; then
        echo "== $d N=$n ranks=$r: not run (does not fit; extrapolated)" | tee -a "$out"
      else
        run_one $d "$n" "$r"
      fi
    done
  done
done

echo
echo "raw results: $out"
summarize "$out"
