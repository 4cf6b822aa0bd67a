"""JAX's persistent compilation cache in the ``jaxrnn`` program
(``jaxrnn.lab.cache``): a second run reads every program from the cache,
the switch turns it off, ``import jaxrnn`` changes nothing, the size is
bounded.

The CLI runs in subprocesses (the cache is process-wide JAX configuration)
with a small JAX experiment of their own (three points, one jitted program
each), so that the tests do not depend on any real experiment's sizes;
``jax.monitoring`` counts the compile requests, cache hits and cache writes.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Runs `jaxrnn ARGS` (cli.main) with a JAX experiment "tinyjax" installed and
# prints the counts of the compilation events as one JSON line.
DRIVER = r"""
import collections, dataclasses, json, sys
import jax, jax.numpy as jnp
counts = collections.Counter()
jax.monitoring.register_event_listener(lambda e, **k: counts.update([e]))
jax.monitoring.register_event_duration_secs_listener(lambda e, d, **k: counts.update([e]))
from jaxrnn import cli, experiments

@dataclasses.dataclass(frozen=True)
class Config:
  n: int = 3
  seed: int = 0

def run_point(cfg, point):
  k = point["i"] + 2
  x = jax.random.normal(jax.random.key(cfg.seed), (k, k))
  return {"v": float(jax.jit(lambda a: jnp.sum(jnp.tanh(a @ a.T) * a))(x))}

EXP = experiments.Experiment(
  name="tinyjax", description="a JAX program per point", config_type=Config,
  presets={"quick": Config(), "paper": Config()},
  points=lambda cfg: [{"i": i} for i in range(cfg.n)], run_point=run_point,
  report=lambda cfg, records, out: "# tinyjax\n")
real = experiments.get
experiments.get = lambda n: EXP if n == "tinyjax" else real(n)
status = cli.main(sys.argv[1:])
print("COUNTS " + json.dumps({
  "status": status,
  "requests": counts["/jax/core/compile/backend_compile_duration"],
  "hits": counts["/jax/compilation_cache/cache_hits"],
  "writes": counts["/jax/compilation_cache/cache_misses"],
  "cache_dir": jax.config.jax_compilation_cache_dir,
}))
"""


def _env(**extra) -> dict:
  env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXRNN_COMPILATION", "JAX_"))}
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")])
  env.update(extra)
  return env


def _run(env: dict, *args: str, out) -> dict:
  proc = subprocess.run(
    [sys.executable, "-c", DRIVER, "run", "tinyjax", "--out", str(out), "--fresh"]
    + ["--no-progress", *args],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  line = next(x for x in proc.stdout.splitlines() if x.startswith("COUNTS "))
  counts = json.loads(line[len("COUNTS ") :])
  assert counts["status"] == 0, proc.stderr[-2000:]
  return counts


def _entries(path) -> set[str]:
  return {f.name for f in path.glob("*-cache")} if path.exists() else set()


@pytest.mark.slow
def test_second_run_reads_every_program_from_the_cache(tmp_path):
  cache = tmp_path / "cache"
  env = _env(JAXRNN_COMPILATION_CACHE_DIR=str(cache))
  first = _run(env, out=tmp_path / "runs")
  assert first["cache_dir"] == str(cache)
  assert first["requests"] >= 3 and first["writes"] >= 3, first
  written = _entries(cache)
  assert len(written) == first["writes"]  # every program, however fast it compiled
  second = _run(env, out=tmp_path / "runs")
  # The same programs are asked for, and every one comes from the cache:
  # nothing is compiled, nothing new is written.
  assert second["requests"] == first["requests"], (first, second)
  assert second["hits"] == second["requests"] and second["writes"] == 0, second
  assert _entries(cache) == written


@pytest.mark.slow
@pytest.mark.parametrize("switch", ["env", "flag"])
def test_switch_turns_the_cache_off(tmp_path, switch):
  cache = tmp_path / "cache"
  warm = _env(JAXRNN_COMPILATION_CACHE_DIR=str(cache))
  _run(warm, out=tmp_path / "runs")  # a populated cache that must not be read
  written = _entries(cache)
  assert written
  if switch == "env":
    counts = _run(dict(warm, JAXRNN_COMPILATION_CACHE="0"), out=tmp_path / "runs")
  else:
    counts = _run(warm, "--no-compilation-cache", out=tmp_path / "runs")
  assert counts["cache_dir"] is None
  assert counts["requests"] >= 3 and counts["hits"] == 0 and counts["writes"] == 0, counts
  assert _entries(cache) == written


@pytest.mark.slow
def test_switch_off_creates_no_directory(tmp_path):
  cache = tmp_path / "never"
  _run(_env(JAXRNN_COMPILATION_CACHE_DIR=str(cache), JAXRNN_COMPILATION_CACHE="off"), out=tmp_path)
  assert not cache.exists()


@pytest.mark.slow
def test_a_jax_cache_the_user_configured_is_kept(tmp_path):
  # JAX_COMPILATION_CACHE_DIR names the user's own cache: the program uses it
  # as it is (JAX's thresholds included) and creates no directory of its own.
  theirs, ours = tmp_path / "theirs", tmp_path / "ours"
  counts = _run(
    _env(JAX_COMPILATION_CACHE_DIR=str(theirs), JAXRNN_COMPILATION_CACHE_DIR=str(ours)),
    out=tmp_path / "runs",
  )
  assert counts["cache_dir"] == str(theirs) and theirs.is_dir()
  assert not ours.exists()


@pytest.mark.slow
def test_bad_switch_value_is_refused_in_one_line(tmp_path):
  bad = (("JAXRNN_COMPILATION_CACHE", "sometimes"), ("JAXRNN_COMPILATION_CACHE_MAX_MB", "-5"))
  for name, value in bad:
    proc = subprocess.run(
      [sys.executable, "-m", "jaxrnn", "run", "linearization", "--out", str(tmp_path)],
      cwd=REPO,
      env=_env(**{name: value, "JAXRNN_COMPILATION_CACHE_DIR": str(tmp_path / "c")}),
      capture_output=True,
      text=True,
      timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and name in proc.stderr and value in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "linearization").exists()


@pytest.mark.slow
def test_importing_jaxrnn_leaves_jax_configuration_alone():
  code = (
    "import jax\n"
    "names = ['jax_compilation_cache_dir', 'jax_enable_compilation_cache',\n"
    "  'jax_persistent_cache_min_compile_time_secs', 'jax_persistent_cache_min_entry_size_bytes',\n"
    "  'jax_compilation_cache_max_size', 'jax_enable_x64', 'jax_default_matmul_precision']\n"
    "before = {n: getattr(jax.config, n) for n in names}\n"
    "import jaxrnn, jaxrnn.experiments, jaxrnn.cli, jaxrnn.lab, jaxrnn.lab.cache\n"
    "after = {n: getattr(jax.config, n) for n in names}\n"
    "assert before == after, (before, after)\n"
    "assert before['jax_compilation_cache_dir'] is None\n"
    "print('same')\n"
  )
  proc = subprocess.run(
    [sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300
  )
  assert proc.returncode == 0 and "same" in proc.stdout, proc.stderr[-2000:]


# --- the pieces, without JAX ---------------------------------------------------

from jaxrnn.lab import cache as C  # noqa: E402


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  assert C.cache_dir({}) == tmp_path / "home/.cache/jaxrnn/jax"
  assert C.cache_dir({"XDG_CACHE_HOME": "/x/cache"}) == C.Path("/x/cache/jaxrnn/jax")
  # a relative XDG_CACHE_HOME is ignored (XDG Base Directory spec)
  assert C.cache_dir({"XDG_CACHE_HOME": "rel"}) == tmp_path / "home/.cache/jaxrnn/jax"
  env = {"XDG_CACHE_HOME": "/x/cache", "JAXRNN_COMPILATION_CACHE_DIR": "/y/c"}
  assert C.cache_dir(env) == C.Path("/y/c")


def test_switch_values():
  assert C.enabled({}) and C.enabled({"JAXRNN_COMPILATION_CACHE": "1"})
  for off in ("0", "off", "False", " no "):
    assert not C.enabled({"JAXRNN_COMPILATION_CACHE": off})
  with pytest.raises(ValueError, match="JAXRNN_COMPILATION_CACHE='2'"):
    C.enabled({"JAXRNN_COMPILATION_CACHE": "2"})
  assert C.max_bytes({}) == 2048 * 10**6
  assert C.max_bytes({"JAXRNN_COMPILATION_CACHE_MAX_MB": "1.5"}) == 1_500_000
  for bad in ("0", "-1", "big", "inf", "nan"):
    with pytest.raises(ValueError, match="JAXRNN_COMPILATION_CACHE_MAX_MB"):
      C.max_bytes({"JAXRNN_COMPILATION_CACHE_MAX_MB": bad})


def test_prune_deletes_the_entries_used_longest_ago_until_the_rest_fit(tmp_path):
  # Five 100-byte entries used at t = 10, 20, ..., 50; entry c was read at
  # t = 60 (its -atime file, written by JAX's own LRU bound when that is on).
  for i, key in enumerate("abcde"):
    f = tmp_path / f"{key}-cache"
    f.write_bytes(b"x" * 100)
    os.utime(f, (10 * (i + 1), 10 * (i + 1)))
  atime = tmp_path / "c-atime"
  atime.write_bytes(b"t")
  os.utime(atime, (60, 60))
  (tmp_path / "other.txt").write_bytes(b"y" * 1000)  # not an entry: kept, not counted
  assert C.prune(tmp_path, 1000) == []
  assert C.prune(tmp_path, 250) == ["a", "b", "d"]
  assert sorted(f.name for f in tmp_path.iterdir()) == [
    "c-atime",
    "c-cache",
    "e-cache",
    "other.txt",
  ]
  assert C.prune(tmp_path, 0) == ["e", "c"]
  assert sorted(f.name for f in tmp_path.iterdir()) == ["other.txt"]


def test_environment_variables_for_the_benchmarks(tmp_path):
  d = tmp_path / "c"
  env = {"JAXRNN_COMPILATION_CACHE_DIR": str(d)}
  got = C.environment_variables(env)
  assert got == {
    "JAX_COMPILATION_CACHE_DIR": str(d),
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
  }
  assert d.is_dir() and (d.stat().st_mode & 0o777) == 0o700
  # a threshold the user set is kept; off, or a JAX cache of the user's: nothing
  mine = dict(env, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="2")
  assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in C.environment_variables(mine)
  assert C.environment_variables(dict(env, JAXRNN_COMPILATION_CACHE="0")) == {}
  assert C.environment_variables(dict(env, JAX_COMPILATION_CACHE_DIR="/their")) == {}
  assert C.environment_variables(dict(env, JAX_ENABLE_COMPILATION_CACHE="false")) == {}


def test_unusable_directory_turns_the_cache_off_with_a_warning(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  with pytest.warns(RuntimeWarning, match="compilation cache off"):
    got = C.environment_variables({"JAXRNN_COMPILATION_CACHE_DIR": str(blocker / "c")})
  assert got == {}
