"""The command line and the resumable runner."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jaxrnn import cli, experiments
from jaxrnn.lab import store

SMALL = [
  "--set",
  "ms=8,12",
  "--set",
  "omegas=0.001,0.01,0.03,0.1,0.3,1.0",
  "--set",
  "num_seeds=2",
  "--set",
  "num_sequences=4",
  "--set",
  "L=4",
  "--set",
  "scalings=relative",
]


def jaxrnn_cli(*args, timeout=300):
  return subprocess.run(
    [sys.executable, "-m", "jaxrnn", *args], capture_output=True, text=True, timeout=timeout
  )


def run_main(capsys, *args):
  """Runs the CLI in-process; returns (status, stdout, stderr)."""
  try:
    status = cli.main(list(args))
  except SystemExit as e:  # argparse errors exit through SystemExit
    status = e.code
  out = capsys.readouterr()
  return status, out.out, out.err


def test_list_names_the_experiments(capsys):
  status, out, _ = run_main(capsys, "list")
  assert status == 0
  assert "linearization" in out


@pytest.mark.parametrize(
  "args,message",
  [
    (["run", "nope"], "unknown experiment 'nope'"),
    (["run", "linearization", "--preset", "huge"], "invalid choice: 'huge'"),
    (["run", "linearization", "--set", "bogus=1"], "unknown config key 'bogus'"),
    (["run", "linearization", "--set", "L=abc"], "L: expected an int, got 'abc'"),
    (["run", "linearization", "--set", "L=1"], "L: must be >= 2"),
    (["run", "linearization", "--set", "noequals"], "--set expects key=value"),
    (["run", "linearization", "--process-id", "1"], "need --distributed"),
    (
      ["run", "training", "--save-params"],
      "training trains no parameters to save; --save-params applies to: languages",
    ),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
  ],
)
def test_bad_input_is_one_line_and_status_2(args, message, tmp_path, capsys):
  if args[:1] == ["run"]:
    args = args + ["--out", str(tmp_path)]
  status, _, err = run_main(capsys, *args)
  assert status == 2, err
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert message in lines[0]


@pytest.mark.slow
def test_installed_entry_point_answers_without_traceback():
  # The console script that `pip install .` puts beside this Python (as a
  # user runs it), not `python -m jaxrnn`.
  script = Path(sys.executable).parent / "jaxrnn"
  assert script.exists(), f"{script} is missing: install the project (pip install '.[test]')"
  res = subprocess.run([str(script), "run", "nope"], capture_output=True, text=True, timeout=300)
  assert res.returncode == 2
  known = "linearization, random_features, invertibility, backward_correlation, "
  known += "rerandomization, normalization, existence, training, ntk_regime, languages"
  assert res.stderr == f"jaxrnn: error: unknown experiment 'nope'; known: {known}\n"
  assert "Traceback" not in res.stderr


def _records(run_dir):
  return [json.loads(l) for l in (run_dir / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
  full_out, cut_out = tmp_path / "full", tmp_path / "cut"
  res = jaxrnn_cli("run", "linearization", "--out", str(full_out), "--no-progress", *SMALL)
  assert res.returncode == 0, res.stderr
  full_dir = cli.run_dir(full_out, experiments.get("linearization"), "quick", SMALL[1::2])
  for name in ("config.json", "results.jsonl", "summary.md", "linearization.png"):
    assert (full_dir / name).exists(), name
  assert "| m |" in res.stdout  # the summary table is printed
  meta = json.loads((full_dir / "config.json").read_text())
  assert meta["seed"] == 0 and meta["environment"]["jax"] and meta["environment"]["devices"]
  full = _records(full_dir)
  assert len(full) == 12

  cut_dir = cli.run_dir(cut_out, experiments.get("linearization"), "quick", SMALL[1::2])
  proc = subprocess.Popen(
    [
      sys.executable,
      "-m",
      "jaxrnn",
      "run",
      "linearization",
      "--out",
      str(cut_out),
      "--no-progress",
      *SMALL,
    ],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
  )
  deadline = time.time() + 240
  path = cut_dir / "results.jsonl"
  while time.time() < deadline:
    if path.exists() and path.read_bytes().count(b"\n") >= 1:
      break
    time.sleep(0.01)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  kept = _records(cut_dir)
  assert len(kept) >= 1
  if len(kept) == 12:
    # Every program is compiled before the first point runs (the runner's
    # check of the grid), so the points may all be written within the poll
    # interval; then cut the file as a kill after the third point leaves it.
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:3]))
    kept = kept[:3]
  assert 1 <= len(kept) < 12, "the kill should land mid-sweep"
  # Simulate a torn write of the point in flight: a partial line at the end.
  with open(cut_dir / "results.jsonl", "a") as f:
    f.write('{"key": "{\\"m\\":12,')
  res = jaxrnn_cli("run", "linearization", "--out", str(cut_out), "--no-progress", *SMALL)
  assert res.returncode == 0, res.stderr
  resumed = _records(cut_dir)
  assert [r["key"] for r in resumed[: len(kept)]] == [r["key"] for r in kept]
  keys = [r["key"] for r in resumed]
  assert len(keys) == len(set(keys)) == 12
  # Byte-identical to the uninterrupted run (same points, same order, same numbers).
  assert (cut_dir / "results.jsonl").read_bytes() == (full_dir / "results.jsonl").read_bytes()


@pytest.mark.slow
def test_other_config_in_same_directory_is_refused(tmp_path, capsys):
  args = [
    "run",
    "linearization",
    "--out",
    str(tmp_path),
    "--no-progress",
    "--set",
    "ms=8",
    "--set",
    "omegas=0.1",
    "--set",
    "num_seeds=1",
    "--set",
    "num_sequences=2",
    "--set",
    "L=3",
  ]
  assert run_main(capsys, *args)[0] == 0
  status, _, err = run_main(capsys, *args, "--seed", "5")
  assert status == 2 and "another config" in err
  assert run_main(capsys, *args, "--seed", "5", "--fresh")[0] == 0


def _rec(i, h="h"):
  point = {"i": i}
  return json.dumps({"key": store.point_key(point), "point": point, "config_hash": h, "v": i})


def test_load_records_drops_only_a_torn_tail(tmp_path):
  path = tmp_path / "results.jsonl"
  path.write_text(_rec(1) + "\n" + _rec(2) + "\n" + '{"key": "c"')
  recs = store.load_records(path, "h")
  assert [r["v"] for r in recs] == [1, 2]
  assert path.read_text() == _rec(1) + "\n" + _rec(2) + "\n"  # torn tail cut on disk


def test_load_records_refuses_a_duplicate_point(tmp_path):
  path = tmp_path / "results.jsonl"
  path.write_text(_rec(1) + "\n" + _rec(2) + "\n" + _rec(1) + "\n")
  with pytest.raises(store.StoreError, match="line 3: point already recorded on line 1"):
    store.load_records(path, "h")


def test_overrides_are_typed():
  from jaxrnn.experiments import linearization

  cfg = experiments.apply_overrides(
    linearization.PRESETS["quick"], ["ms=16,32", "eps_x=0.2", "dtype=float32"]
  )
  assert cfg.ms == (16, 32) and cfg.eps_x == 0.2 and cfg.dtype == "float32"
  with pytest.raises(experiments.ConfigError, match="dtype: must be one of 'float32', 'float64'"):
    experiments.apply_overrides(cfg, ["dtype=float16"])
