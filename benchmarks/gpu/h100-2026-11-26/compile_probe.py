"""Where an experiment's time goes: compile (jax.monitoring) vs the rest,
per point. python compile_probe.py LABEL EXPERIMENT [key=value ...]"""
import collections
import dataclasses
import json
import sys
import tempfile
import time

import jax

from jaxrnn import experiments, lab

label, name = sys.argv[1], sys.argv[2]
durations = collections.defaultdict(float)
counts = collections.Counter()


def listener(event, duration, *args, **kwargs):
  durations[event] += duration
  counts[event] += 1


jax.monitoring.register_event_duration_secs_listener(listener)
exp = experiments.get(name)
cfg = exp.presets["quick"]
for kv in sys.argv[3:]:
  k, v = kv.split("=")
  old = getattr(cfg, k)
  if isinstance(old, (tuple, list)):
    v = type(old)(type(old[0])(x) for x in v.split(","))
  else:
    v = type(old)(v)
  cfg = dataclasses.replace(cfg, **{k: v})
points = []


def timed(cfg, point):
  c0 = sum(v for k, v in durations.items() if "compile" in k)
  t0 = time.perf_counter()
  out = exp.run_point(cfg, point)
  points.append({
    "point": point,
    "s": round(time.perf_counter() - t0, 2),
    "compile_s": round(sum(v for k, v in durations.items() if "compile" in k) - c0, 2),
  })
  print("POINT", json.dumps(points[-1]), flush=True)
  return out


t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
  lab.run_experiment(dataclasses.replace(exp, run_point=timed), cfg, d, preset="quick",
                     progress=False)
total = time.perf_counter() - t0
print("SUMMARY", json.dumps({
  "label": label, "experiment": name, "device": str(jax.devices()[0]), "total_s": round(total, 2),
  "events": {k: [counts[k], round(v, 2)] for k, v in durations.items()},
}), flush=True)
