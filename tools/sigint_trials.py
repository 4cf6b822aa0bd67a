"""Interrupt a small real run at random moments, N times in a row, and check
that nothing is lost.

    python tools/sigint_trials.py                    # 30 Ctrl-C trials
    python tools/sigint_trials.py --signal KILL      # 30 SIGKILL trials
    python tools/sigint_trials.py --trials 5 --seed 3 --json out.json

First one uninterrupted run gives the reference ``results.jsonl`` and its
wall time T. Then each trial starts ``python -m jaxrnn run linearization``
(tiny sizes) in a fresh directory with a cold start (no compilation cache, as
a user's first run), sends the signal at a moment drawn uniformly from
[0, T] after the process was started (imports, tracing, XLA compilation,
points, report and exit all get hit), and records:

- the exit status (Ctrl-C: 130 with exactly the one-line resume message;
  SIGKILL: -9; either: 0 if the run had finished before the signal came, as
  the load can make a run faster than the reference), and that the process
  ended within 10 s of the signal (trials start with SIGINT at its default
  disposition even when this script runs as a background job);
- whether ``results.jsonl`` holds only byte-exact prefixes of the reference
  lines (``intact``; a SIGKILL may leave a torn last line, a Ctrl-C may not);
- after a resume (the same command; it reads a compilation cache that the
  reference run filled, to save time), whether the file is byte-identical to
  the reference (``identical``).

A trial fails on anything else: a traceback, a segfault (exit -11), an exit
0 with points missing, extra output. The last lines print the counts; the
exit status is 0 only if every trial passed. The moment 0 includes Python's
own start-up (before ``jaxrnn/__init__.py`` installs the handler, about
0.05 s); a Ctrl-C there gets Python's default traceback and is reported as
such.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = [
  "run",
  "linearization",
  "--no-progress",
  "--set",
  "ms=8,12",
  "--set",
  "omegas=0.01,0.1,1.0",
  "--set",
  "num_seeds=2",
  "--set",
  "num_sequences=2",
  "--set",
  "L=3",
]
MESSAGE = "jaxrnn: interrupted; completed points are kept, rerun the same command to resume\n"
ROOT = Path(__file__).resolve().parents[1]


def _env(cache: Path | None) -> dict:
  env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_PERSISTENT_CACHE")}
  env.pop("JAX_COMPILATION_CACHE_DIR", None)
  env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
  if cache is not None:
    env.update(
      JAX_COMPILATION_CACHE_DIR=str(cache),
      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
  return env


def _default_sigint() -> None:
  # A child of a background job in a non-interactive shell inherits SIGINT
  # ignored, and jaxrnn (like Python) then leaves it ignored: the trial
  # would measure nothing. Trials always start with the default disposition.
  signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(out: Path, env: dict) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, "-m", "jaxrnn", *ARGS, "--out", str(out)],
    capture_output=True,
    text=True,
    env=env,
    cwd=ROOT,
    preexec_fn=_default_sigint,
  )


def _intact(raw: bytes, ref: bytes, torn_allowed: bool) -> bool:
  complete = raw[: raw.rfind(b"\n") + 1]
  tail = raw[len(complete) :]
  if not ref.startswith(complete):
    return False
  return not tail or (torn_allowed and ref[len(complete) :].startswith(tail))


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--trials", type=int, default=30)
  ap.add_argument("--signal", choices=("INT", "KILL"), default="INT")
  ap.add_argument("--seed", type=int, default=0, help="seed of the random moments")
  ap.add_argument("--json", type=Path, help="write the outcomes here")
  args = ap.parse_args()
  sig = signal.SIGINT if args.signal == "INT" else signal.SIGKILL
  rng = random.Random(args.seed)
  work = Path(tempfile.mkdtemp(prefix="jaxrnn-trials-"))
  cache = work / "jax-cache"
  with open("/proc/loadavg") as f:
    load = f.read().split()[:3]
  print(f"load average at start: {' '.join(load)}", flush=True)

  t0 = time.time()
  ref_run = _run(work / "ref", _env(cache))
  t_ref = time.time() - t0
  if ref_run.returncode != 0:
    print(ref_run.stderr)
    return 1
  (ref_dir,) = (work / "ref" / "linearization").iterdir()  # quick+set-HASH: ARGS --set
  ref = (ref_dir / "results.jsonl").read_bytes()
  n_ref = ref.count(b"\n")
  print(f"reference run: {t_ref:.1f} s, {n_ref} records", flush=True)

  outcomes = []
  for i in range(args.trials):
    out = work / f"trial{i:02d}"
    run_dir = out / "linearization" / ref_dir.name
    delay = rng.uniform(0.0, t_ref)
    proc = subprocess.Popen(
      [sys.executable, "-m", "jaxrnn", *ARGS, "--out", str(out)],
      stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE,
      env=_env(None),
      cwd=ROOT,
      preexec_fn=_default_sigint,
    )
    time.sleep(delay)
    proc.send_signal(sig)
    sent = time.time()
    err = proc.communicate()[1].decode()
    after = time.time() - sent  # how long the process lived after the signal
    rc = proc.returncode
    path = run_dir / "results.jsonl"
    raw = path.read_bytes() if path.exists() else b""
    n_kept = raw.count(b"\n")
    finished = raw == ref and (run_dir / "summary.md").exists()
    intact = _intact(raw, ref, torn_allowed=sig == signal.SIGKILL)
    resumed = _run(out, _env(cache))
    identical = resumed.returncode == 0 and path.read_bytes() == ref
    # Acting on the signal means ending within seconds (a run that went on
    # to finish its points after a Ctrl-C would show up here too).
    prompt = after < 10.0
    if sig == signal.SIGINT:
      status_ok = prompt and ((rc == 130 and err == MESSAGE) or (rc == 0 and finished and not err))
    else:
      status_ok = prompt and (rc == -signal.SIGKILL or (rc == 0 and finished and not err))
    ok = status_ok and intact and identical
    outcome = dict(
      trial=i,
      signal=args.signal,
      delay_s=round(delay, 2),
      exit=rc,
      exited_after_signal_s=round(after, 2),
      records_kept=n_kept,
      intact=intact,
      identical_after_resume=identical,
      ok=ok,
      stderr=err[-300:],
    )
    outcomes.append(outcome)
    print(
      f"trial {i:2d}: SIG{args.signal} at {delay:5.2f} s -> exit {rc:4d} after {after:4.2f} s, "
      f"{n_kept} of "
      f"{n_ref} records kept, intact={intact}, identical after resume={identical}"
      + ("" if ok else f"  FAILED: {err.strip()[-200:]!r}"),
      flush=True,
    )

  n_ok = sum(o["ok"] for o in outcomes)
  codes = sorted({o["exit"] for o in outcomes})
  counts = {c: sum(o["exit"] == c for o in outcomes) for c in codes}
  print(f"\n{n_ok} of {len(outcomes)} trials passed; exit statuses: {counts}")
  with open("/proc/loadavg") as f:
    print(f"load average at end: {' '.join(f.read().split()[:3])}")
  if args.json:
    args.json.write_text(json.dumps(dict(t_ref=t_ref, load=load, outcomes=outcomes), indent=1))
  return 0 if n_ok == len(outcomes) else 1


if __name__ == "__main__":
  sys.exit(main())
