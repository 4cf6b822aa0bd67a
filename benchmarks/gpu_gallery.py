"""On a GPU: where compile time goes, then the width-limited paper presets at GPU widths.

    python benchmarks/gpu_gallery.py                  # one call of at most 540 s; repeat until done
    python benchmarks/gpu_gallery.py --status         # what is done (runs nothing)
    python benchmarks/gpu_gallery.py --tiny --out-dir D --docs-dir E   # CPU smoke test (< 1 min)

One script in calls of at most ``--time-limit`` seconds (default 540, under
a 10-minute device call): each call continues where the last one stopped
and ends with ``gallery complete`` or ``call again to continue``. The state
is ``OUT/gallery.json`` (``--out-dir``, default ``benchmarks/out/gpu-gallery``);
the runs are stored in ``OUT/runs`` (the result store resumes a run stopped
at the time limit: a rerun computes only the missing points); JAX's
persistent compilation cache is ``OUT/jax-cache`` (unless
``JAXRNN_COMPILATION_CACHE_DIR`` is set), so a resumed run does not compile
again what the stopped one had compiled.

Steps:

1. **diagnose**: one ``linearization`` program, the per-seed radius program
   of the quick preset at m = 32 (five seeds vmapped, float64; 60.6 s to
   compile on an H100 against 3.7 s on 2 CPU cores, ``benchmarks/RESULTS.md``),
   compiled once per variant in ``VARIANTS`` (XLA flags, dtype), each in
   its own process with the persistent cache off and ``DIAGNOSE_LIMIT_S``
   seconds; the figures come from ``benchmarks/compile_time.py``'s worker
   (compile seconds per module, from ``jax.monitoring``). The ``stats``
   variant also asks XLA for its compilation statistics
   (``--xla_gpu_print_compilation_stats``) and its per-phase timers
   (``TF_CPP_VMODULE``: HLO passes, LLVM, ptxas, autotuning), summed per
   phase in the page. A flag this XLA does not know ends that variant's
   process; it is recorded as failed and the next one runs.
2. **gallery**: ``jaxrnn run NAME --preset paper --set ...`` for each entry
   of ``GALLERY`` (the width-limited claims at GPU widths), one after the
   other, each stopped at the call's time limit and resumed by the next
   call. ``--xla-flags auto`` (the default) gives these runs the XLA flags
   of the flag-only variant that compiled the diagnosed program in at most
   2/3 of the default's time, if any (recorded in the state and the page).

After each call: finished runs (config, records, summary, figures up to 2
MB) are copied to ``DOCS/NAME/paper/`` (``--docs-dir``, default
``docs/paper-scale/gpu``), with ``DOCS/index.md`` (the diagnosis, and per
experiment the widths, wall time, compile time and verdicts beside the
CPU's paper run from ``docs/paper-scale/``) and ``DOCS/gallery.json``.

On the device machine, where only ``$OUT`` comes back::

    python benchmarks/gpu_gallery.py --docs-dir "$OUT/paper-scale-gpu"; \\
      tar --exclude=jax-cache -czf "$OUT/gpu-gallery.tgz" -C benchmarks/out gpu-gallery

(``benchmarks/out`` is kept between calls on a warm machine; for a fresh one,
unpack the archive into ``benchmarks/out`` here and carry it.)

Not yet run on a GPU. The XLA flags in ``VARIANTS`` are all in jaxlib
0.10.2's flag table (its ``libjax_common.so``); the GPU file names in
``PHASE_MODULES`` are XLA's source files as we expect them, checked only on
the CPU (``cpu_compiler``), so the GPU phases may come out empty.

``--tiny`` runs the same steps at tiny sizes (two diagnose variants,
``linearization``'s quick preset at ``compile_time.TINY_LINEARIZATION``)
so that the script is known to work before a GPU is at hand
(``tests/tools/test_gpu_gallery.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

try:
  from benchmarks import _common as C
  from benchmarks import compile_time as CT
except ImportError:
  import _common as C
  import compile_time as CT

HERE = pathlib.Path(__file__).resolve().parent
PY = sys.executable

# ---------------------------------------------------------------------------
# What runs (edit here: config keys follow the experiments).

#: Width-limited claims at GPU widths: experiment -> (preset, --set overrides).
GALLERY = {
  "invertibility": ("paper", ["ms=128,256,512,1024,2048,4096,8192,16384"]),
  "training": ("paper", ["ms=64,128,256,512,1024,2048,4096"]),
  "existence": ("paper", ["ms=128,256,512,1024,2048,4096,8192,16384"]),
  "linearization": ("paper", ["ms=64,128,256,512,1024,2048,4096,8192"]),
}
GALLERY_TINY = {
  "linearization": ("quick", list(CT.TINY_LINEARIZATION) + ["scalings=relative,absolute"])
}

#: The diagnosed program: linearization's quick preset at m = 32, one radius
#: of the relative scaling (one point: the per-seed radius program).
DIAGNOSE = ("linearization", "quick", ["ms=32", "scalings=relative", "omegas=1e-5"])
DIAGNOSE_TINY = ("linearization", "quick", list(CT.TINY_LINEARIZATION) + ["scalings=relative"])

# XLA files whose timers (XLA_SCOPED_LOGGING_TIMER, VLOG 1) the stats variant
# logs: GPU compilation phases, and the CPU's for the smoke test.
PHASE_MODULES = (
  "gpu_compiler=1,nvptx_compiler=1,compile_module_to_llvm_ir=1,ptx_compiler_impl=1,"
  "subprocess_compilation=1,autotuner_util=1,gemm_fusion_autotuner=1,gemm_algorithm_picker=1,"
  "cpu_compiler=1"
)

#: Diagnose variants: name -> (XLA flags, extra environment, extra --set).
VARIANTS = {
  "default": ("", {}, []),
  "stats": (
    "--xla_gpu_print_compilation_stats=true",
    {"TF_CPP_MIN_LOG_LEVEL": "0", "TF_CPP_VMODULE": PHASE_MODULES},
    [],
  ),
  "float32": ("", {}, ["dtype=float32"]),
  "ptxas-O0": ("--xla_gpu_disable_gpuasm_optimizations=true", {}, []),
  "parallel-llvm": (
    "--xla_gpu_enable_llvm_module_compilation_parallelism=true "
    f"--xla_gpu_force_compilation_parallelism={os.cpu_count() or 1}",
    {},
    [],
  ),
  "libnvptxcompiler": ("--xla_gpu_enable_libnvptxcompiler=true", {}, []),
  "no-autotune": ("--xla_gpu_autotune_level=0", {}, []),
  "no-command-buffer": ("--xla_gpu_enable_command_buffer=", {}, []),
}
DEFAULT_VARIANTS = ("default", "stats", "float32", "ptxas-O0", "parallel-llvm", "libnvptxcompiler")
TINY_VARIANTS = ("default", "stats")

DEFAULT_TIME_LIMIT_S = 540
DIAGNOSE_LIMIT_S = 150
MIN_START_S = 20  # a process is not started with less time left than this
MAX_COPY_BYTES = 2_000_000


# ---------------------------------------------------------------------------


def _env(base: dict, out_dir: pathlib.Path) -> dict:
  env = dict(base)
  env["PYTHONPATH"] = os.pathsep.join([str(C.REPO), env.get("PYTHONPATH", "")])
  env.pop("JAX_COMPILATION_CACHE_DIR", None)  # the CLI's own cache (set by _common)
  env.setdefault("JAXRNN_COMPILATION_CACHE_DIR", str(out_dir / "jax-cache"))
  return env


def _with_flags(env: dict, flags: str) -> dict:
  env = dict(env)
  if flags:
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flags).strip()
  return env


def run_bounded(argv, env, limit: float, log: pathlib.Path) -> tuple[str, float, int | None]:
  """Runs ``argv`` in its own process group with output to ``log``, for at
  most ``limit`` seconds: (status, seconds, exit code); status ``ok``,
  ``failed`` or ``stopped`` (the limit; the group is killed)."""
  t0 = time.perf_counter()
  with open(log, "a") as f:
    proc = subprocess.Popen(
      argv, cwd=str(C.REPO), env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
      rc = proc.wait(timeout=max(limit, 1))
      status = "ok" if rc == 0 else "failed"
    except subprocess.TimeoutExpired:
      try:
        os.killpg(proc.pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
      proc.wait()
      rc, status = None, "stopped"
  return status, time.perf_counter() - t0, rc


_TIMER = re.compile(r"\] (.+?) time: [\d.]+ \w+ \((\d+) us\)")


def phases(log_text: str, top: int = 12) -> list[list]:
  """XLA's scoped timers in a log (``LABEL time: 1.2 s (1234567 us) ...``),
  summed per label with module names and numbers blanked: ``[[label,
  seconds, count], ...]``, longest first. Nested timers are each counted."""
  sums: dict[str, list] = {}
  for m in _TIMER.finditer(log_text):
    label = re.sub(r"\[[^\]]*\]", "[…]", m.group(1))
    label = re.sub(r"\b\d+\b", "N", label).strip()
    s = sums.setdefault(label, [0.0, 0])
    s[0] += int(m.group(2)) / 1e6
    s[1] += 1
  rows = sorted(([k, round(v[0], 3), v[1]] for k, v in sums.items()), key=lambda r: -r[1])
  return rows[:top]


def _set_args(overrides) -> list[str]:
  return [a for kv in overrides for a in ("--set", kv)]


def _tail(path: pathlib.Path, n: int = 1500) -> str:
  try:
    return path.read_text(errors="replace")[-n:]
  except OSError:
    return ""


def _run_dir(root: pathlib.Path, preset: str) -> pathlib.Path:
  """The run directory of ``PRESET`` under ``root`` (``OUT/NAME``): ``PRESET``
  itself, or ``PRESET+set-HASH`` where ``--set`` changed the preset."""
  found = sorted(root.glob(f"{preset}+set-*")) if root.is_dir() else []
  return found[0] if found and not (root / preset).is_dir() else root / preset


def _points(run_dir: pathlib.Path) -> int:
  f = run_dir / "results.jsonl"
  try:
    return sum(1 for line in f.read_text().splitlines() if line.strip())
  except OSError:
    return 0


class Gallery:
  def __init__(self, args):
    self.args = args
    self.tiny = args.tiny
    self.out = args.out_dir.resolve()
    self.docs = args.docs_dir.resolve()
    self.out.mkdir(parents=True, exist_ok=True)
    self.state_path = self.out / "gallery.json"
    self.state = CT.read(self.state_path) or {
      "tiny": self.tiny,
      "device": None,
      "xla_flags": None,
      "diagnose": {},
      "runs": {},
      "calls": [],
    }
    if self.state.get("tiny") != self.tiny:
      raise SystemExit(f"{self.state_path} holds a {'tiny' if not self.tiny else 'full'} gallery")
    self.env = _env(os.environ, self.out)
    self.t0 = time.perf_counter()
    self.deadline = self.t0 + args.time_limit
    self.min_start = args.min_start
    self.gallery = GALLERY_TINY if self.tiny else GALLERY
    if args.only:
      self.gallery = {k: v for k, v in self.gallery.items() if k in args.only.split(",")}

  def left(self) -> float:
    return self.deadline - time.perf_counter()

  def save(self) -> None:
    self.state_path.write_text(json.dumps(self.state, indent=1))

  def log(self, msg: str) -> None:
    print(f"[gpu_gallery] {msg}", file=sys.stderr, flush=True)

  # -- steps ---------------------------------------------------------------

  def device(self) -> None:
    if self.state["device"]:
      return
    try:
      from accelerator import DEVICE_PROBE
    except ImportError:
      from benchmarks.accelerator import DEVICE_PROBE
    out = subprocess.run(
      [PY, "-c", DEVICE_PROBE], env=self.env, capture_output=True, text=True, timeout=300
    ).stdout
    m = re.search(r"^DEVICE (.*)$", out, re.M)
    self.state["device"] = json.loads(m.group(1)) if m else {"platform": None}
    self.save()

  def diagnose(self) -> None:
    names = (
      TINY_VARIANTS
      if self.tiny
      else tuple(v for v in (self.args.variants or ",".join(DEFAULT_VARIANTS)).split(",") if v)
    )
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
      raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    exp, preset, base = DIAGNOSE_TINY if self.tiny else DIAGNOSE
    ddir = self.out / "diagnose"
    ddir.mkdir(exist_ok=True)
    for name in names:
      if name in self.state["diagnose"]:
        continue
      limit = min(DIAGNOSE_LIMIT_S, self.left())
      if limit < self.min_start:
        return
      flags, extra_env, sets = VARIANTS[name]
      env = _with_flags(dict(self.env, JAXRNN_COMPILATION_CACHE="0", **extra_env), flags)
      js, log = ddir / f"{name}.json", ddir / f"{name}.log"
      for f in (js, log):
        f.unlink(missing_ok=True)
      cli = ["run", exp, "--preset", preset, "--out", str(ddir / "runs" / name), "--fresh"]
      cli += ["--no-progress", *_set_args(base + sets)]
      self.log(f"diagnose {name}: XLA_FLAGS+={flags!r} (limit {limit:.0f} s)")
      status, secs, rc = run_bounded(CT.worker_command(js, cli), env, limit, log)
      rows = CT.by_experiment(CT.read(js), exp)
      row = CT.summary_row(rows[exp]) if exp in rows else None
      rec = {
        "status": status,
        "exit_code": rc,
        "seconds": round(secs, 1),
        "xla_flags": flags,
        "set": sets,
        "summary": row,
      }
      if status != "ok":
        rec["output_tail"] = _tail(log)
      if name == "stats":
        text = log.read_text(errors="replace") if log.exists() else ""
        rec["phases"] = phases(text)
        # what --xla_gpu_print_compilation_stats printed (its format is
        # XLA's); the whole log stays in OUT/diagnose/stats.log
        rec["log_tail"] = "\n".join(
          line for line in text.splitlines()[-200:] if "time:" not in line
        )[-4000:]
      self.state["diagnose"][name] = rec
      self.save()
      self.log(f"diagnose {name}: {status} in {secs:.0f} s")

  def choose_flags(self) -> str:
    """The gallery's XLA flags (fixed at the first gallery run: the
    persistent cache's keys depend on them)."""
    if self.state["xla_flags"] is not None:
      return self.state["xla_flags"]["flags"]
    choice = self.args.xla_flags
    reason = "given with --xla-flags"
    if choice == "auto":
      d = self.state["diagnose"]
      base = _slowest_s(d.get("default"))
      choice, reason = "", "XLA's defaults (no flag-only variant compiled in at most 2/3 the time)"
      if base is None:
        reason = "XLA's defaults (the default variant did not finish)"
      else:
        best = None
        for name, rec in d.items():
          flags, _, sets = VARIANTS.get(name, ("", {}, []))
          s = _slowest_s(rec)
          if name in ("default", "stats") or sets or not flags or s is None:
            continue
          if s <= base * 2 / 3 and (best is None or s < best[1]):
            best = (name, s, flags)
        if best:
          choice = best[2]
          reason = f"variant {best[0]}: {best[1]:.1f} s against {base:.1f} s with the defaults"
    elif choice == "none":
      choice, reason = "", "XLA's defaults (--xla-flags none)"
    self.state["xla_flags"] = {"flags": choice, "reason": reason}
    self.save()
    return choice

  def gallery_runs(self) -> None:
    flags = None
    for name, (preset, sets) in self.gallery.items():
      rec = self.state["runs"].setdefault(
        name, {"preset": preset, "set": sets, "status": "pending", "calls": []}
      )
      if rec["status"] == "done":
        continue
      if rec["set"] != sets or rec["preset"] != preset:
        raise SystemExit(
          f"{name}: the overrides changed since its run started ({rec['set']} -> {sets}); "
          f"move {self.out / 'runs' / name} and its entry in {self.state_path} aside"
        )
      limit = self.left()
      if limit < self.min_start:
        return
      if flags is None:
        flags = self.choose_flags()
      env = _with_flags(self.env, flags)
      logs = self.out / "logs"
      logs.mkdir(exist_ok=True)
      js, log = logs / f"{name}-call{len(rec['calls']) + 1}.json", logs / f"{name}.log"
      cli = ["run", name, "--preset", preset, "--out", str(self.out / "runs"), "--no-progress"]
      cli += _set_args(sets)
      self.log(f"gallery {name}: {' '.join(cli)} (limit {limit:.0f} s)")
      status, secs, rc = run_bounded(CT.worker_command(js, cli), env, limit, log)
      rows = CT.by_experiment(CT.read(js), name)
      call = {
        "status": status,
        "exit_code": rc,
        "seconds": round(secs, 1),
        "points": _points(_run_dir(self.out / "runs" / name, preset)),
        "compile": CT.summary_row(rows[name]) if name in rows else None,
      }
      if status == "failed":
        call["output_tail"] = _tail(log)
      rec["calls"].append(call)
      rec["wall_s"] = round(sum(c["seconds"] for c in rec["calls"]), 1)
      rec["status"] = {"ok": "done", "stopped": "partial", "failed": "failed"}[status]
      self.save()
      self.log(f"gallery {name}: {status} in {secs:.0f} s, {call['points']} points stored")
      if status == "failed":
        continue  # recorded; the next experiment runs

  # -- the page ------------------------------------------------------------

  def publish(self) -> None:
    self.docs.mkdir(parents=True, exist_ok=True)
    for name, rec in self.state["runs"].items():
      if rec["status"] != "done":
        continue
      src = _run_dir(self.out / "runs" / name, rec["preset"])
      dst = self.docs / name / rec["preset"]
      dst.mkdir(parents=True, exist_ok=True)
      for f in [src / "config.json", src / "results.jsonl", src / "summary.md", *src.glob("*.png")]:
        if f.is_file() and f.stat().st_size <= MAX_COPY_BYTES:
          shutil.copy2(f, dst / f.name)
    (self.docs / "gallery.json").write_text(json.dumps(self.state, indent=1))
    (self.docs / "index.md").write_text(render(self.state, self.docs) + "\n")

  def complete(self) -> bool:
    runs = self.state["runs"]
    return all(runs.get(n, {}).get("status") in ("done", "failed") for n in self.gallery)


def _slowest_s(rec) -> float | None:
  if not rec or rec.get("status") != "ok" or not (rec.get("summary") or {}).get("slowest"):
    return None
  return rec["summary"]["slowest"][2]


def _cpu_reference(name: str) -> tuple[str, str]:
  """(widths, wall time) of the CPU's paper run in ``docs/paper-scale``."""
  base = C.REPO / "docs" / "paper-scale"
  widths, wall = "—", "—"
  cfg = CT.read(base / name / "paper" / "config.json")
  if cfg and "ms" in cfg.get("config", {}):
    ms = cfg["config"]["ms"]
    widths = f"{ms[0]}–{ms[-1]}" if len(ms) > 1 else str(ms[0])
  timing = base / "timing.txt"
  if timing.exists():
    m = re.search(rf"^{name} rc=\d+ wall_s=(\d+)", timing.read_text(), re.M)
    if m:
      wall = f"{int(m.group(1)) / 60:.1f} min"
  return widths, wall


def _verdicts(summary: pathlib.Path) -> str:
  if not summary.exists():
    return "—"
  sys.path.insert(0, str(C.REPO))
  from jaxrnn.lab import read_verdicts

  rows = read_verdicts(summary.read_text())
  k = [sum(r["holds"] == v for r in rows) for v in ("yes", "no")]
  return f"{k[0]} / {k[1]} / {len(rows) - sum(k)}"


def _widths(sets) -> str:
  for kv in sets:
    if kv.startswith("ms="):
      ms = kv[3:].split(",")
      return f"{ms[0]}–{ms[-1]}" if len(ms) > 1 else ms[0]
  return "preset's"


def render(state: dict, docs: pathlib.Path) -> str:
  dev = state.get("device") or {}
  lines = [
    "# Paper presets at GPU widths" + (" (--tiny)" if state.get("tiny") else ""),
    "",
    f"Device: {dev.get('platform')} {dev.get('device_kind', '')} x{dev.get('num_devices')} "
    f"(jax {dev.get('jax')}). Written by `python benchmarks/gpu_gallery.py`, which runs in "
    "calls of at most 10 minutes and resumes; wall times are summed over calls.",
    "",
  ]
  diag = state.get("diagnose") or {}
  if diag:
    lines += [
      "## Where compile time goes",
      "",
      "One `linearization` program compiled per variant, each in a fresh process with the "
      "persistent cache off (`compile_time.py`'s worker; module names as JAX gives them):",
      "",
    ]
    rows = []
    for name, rec in diag.items():
      s = rec.get("summary") or {}
      slow = s.get("slowest")
      rows.append(
        [
          name,
          f"`{rec['xla_flags']}`" if rec["xla_flags"] else "",
          " ".join(rec.get("set") or []),
          rec["status"],
          f"{slow[0]}: {slow[2]:.1f}" if slow else "—",
          CT._f(s.get("compile_s")),
          str(s.get("programs", "—")),
          f"{rec['seconds']:.0f}",
        ]
      )
    lines.append(
      C.table(
        [
          "variant",
          "XLA flags",
          "--set",
          "status",
          "slowest module: compile s",
          "all compile s",
          "programs",
          "process s",
        ],
        rows,
      )
    )
    ph = (diag.get("stats") or {}).get("phases")
    if ph:
      lines += [
        "",
        "XLA's phase timers in the `stats` variant (summed per phase over all programs; "
        "nested phases are each counted):",
        "",
        C.table(["phase", "seconds", "count"], [[p[0], f"{p[1]:.2f}", str(p[2])] for p in ph]),
      ]
    xf = state.get("xla_flags")
    if xf:
      lines += ["", f"Gallery XLA flags: `{xf['flags'] or '(none)'}` — {xf['reason']}."]
    lines.append("")
  runs = state.get("runs") or {}
  if runs:
    lines += [
      "## Runs",
      "",
      "CPU columns: the `paper` preset on 2 CPU cores (`docs/paper-scale/`), at its own widths.",
      "",
    ]
    rows = []
    for name, rec in runs.items():
      last = rec["calls"][-1] if rec["calls"] else {}
      comp = sum(((c.get("compile") or {}).get("compile_s") or 0) for c in rec["calls"])
      link = (
        f"[`{name}`]({name}/{rec['preset']}/summary.md)" if rec["status"] == "done" else f"`{name}`"
      )
      cpu_w, cpu_t = _cpu_reference(name)
      rows.append(
        [
          link,
          _widths(rec["set"]),
          rec["status"],
          f"{rec.get('wall_s', 0) / 60:.1f} min",
          str(len(rec["calls"])),
          f"{comp:.0f}",
          str(last.get("points", 0)),
          _verdicts(docs / name / rec["preset"] / "summary.md"),
          cpu_w,
          cpu_t,
        ]
      )
    lines.append(
      C.table(
        [
          "experiment",
          "GPU widths m",
          "status",
          "GPU wall",
          "calls",
          "compile s",
          "points",
          "verdicts (hold / do not / undecided)",
          "CPU widths m",
          "CPU wall",
        ],
        rows,
      )
    )
    failed = [(n, r) for n, r in runs.items() if r["status"] == "failed"]
    for n, r in failed:
      lines += ["", f"`{n}` failed:", "", "```", r["calls"][-1].get("output_tail", ""), "```"]
  return "\n".join(lines)


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--tiny", action="store_true", help="tiny sizes (a CPU smoke test)")
  ap.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="seconds")
  ap.add_argument("--out-dir", type=pathlib.Path, default=HERE / "out" / "gpu-gallery")
  ap.add_argument("--docs-dir", type=pathlib.Path, default=C.REPO / "docs" / "paper-scale" / "gpu")
  ap.add_argument("--only", default="", help="comma-separated gallery experiments")
  ap.add_argument("--variants", default="", help=f"diagnose variants (default {DEFAULT_VARIANTS})")
  ap.add_argument("--skip-diagnose", action="store_true")
  ap.add_argument(
    "--xla-flags",
    default="auto",
    help="the gallery's XLA flags: auto (from the diagnosis), none, or the flags",
  )
  ap.add_argument(
    "--min-start",
    type=float,
    default=MIN_START_S,
    help=f"start no process with fewer seconds left (default {MIN_START_S})",
  )
  ap.add_argument("--status", action="store_true", help="print the state's page and exit")
  args = ap.parse_args(argv)
  if args.time_limit <= 0:
    ap.error(f"--time-limit must be positive, got {args.time_limit}")
  g = Gallery(args)
  if args.status:
    print(render(g.state, g.docs.resolve()))
    return 0
  g.device()
  if not args.skip_diagnose:
    g.diagnose()
  g.gallery_runs()
  g.state["calls"].append(
    {"seconds": round(time.perf_counter() - g.t0, 1), "time_limit": args.time_limit}
  )
  g.save()
  g.publish()
  done = g.complete()
  print(render(g.state, g.docs))
  print("\ngallery complete" if done else "\ncall again to continue")
  return 0


if __name__ == "__main__":
  sys.exit(main())
