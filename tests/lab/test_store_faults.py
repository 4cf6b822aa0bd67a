"""Fault injection on the result store (bad lines, another config, two
writers, file modes and ``--out ""``): what a user does by accident to a run
directory must end in one line and exit status 2 with every record kept, or
in a resume that loses nothing; never in deleted or mislabelled records.

The runs use a fake experiment (``tests/_fake_experiment.py``: 30 points, no
JAX, milliseconds), through the command line in-process, except where two
processes must run at once.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from jaxrnn import cli
from tests import _fake_experiment as F


@pytest.fixture(autouse=True)
def fake(monkeypatch):
  F.install(monkeypatch)


def run(capsys, out, *args):
  """``jaxrnn run fake --out OUT ARGS`` in-process: (status, stdout, stderr)."""
  try:
    status = cli.main(["run", F.NAME, "--out", str(out), "--no-progress", *args])
  except SystemExit as e:
    status = e.code
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def one_line(err):
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert "Traceback" not in err
  return lines[0]


@pytest.fixture
def done(tmp_path, capsys):
  """A completed run of 30 points with seed 7; returns (out, results path, bytes)."""
  out = tmp_path / "out"
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 0, err
  path = F.run_dir(out) / "results.jsonl"
  raw = path.read_bytes()
  assert raw.count(b"\n") == 30
  return out, path, raw


# --------------------------------------------------------------------------
# A bad line anywhere but a torn tail stops the run; nothing is cut.


@pytest.mark.parametrize(
  "after,line",
  [
    (10, b"this is not json"),  # an editor's stray line
    (3, b"null"),
    (10, b"[1, 2]"),  # parses, but is not a record
    (10, b'{"no_key": 1}'),
    (5, b""),  # an empty line
    (20, b"{truncated"),  # looks torn, but is not the last line
  ],
)
def test_a_bad_line_in_the_middle_stops_the_run_and_changes_nothing(done, capsys, after, line):
  out, path, raw = done
  lines = raw.split(b"\n")[:-1]
  lines.insert(after, line)
  corrupted = b"\n".join(lines) + b"\n"
  path.write_bytes(corrupted)
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 2, err
  message = one_line(err)
  assert f"results.jsonl, line {after + 1}" in message, message
  assert path.read_bytes() == corrupted  # all 30 valid records still there


def test_a_duplicated_record_is_refused_not_dropped(done, capsys):
  out, path, raw = done
  lines = raw.split(b"\n")[:-1]
  corrupted = b"\n".join(lines + [lines[4]]) + b"\n"
  path.write_bytes(corrupted)
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 2
  assert "line 31: point already recorded on line 5" in one_line(err)
  assert path.read_bytes() == corrupted


def test_a_torn_tail_is_cut_and_kept_aside_and_the_point_recomputed(done, capsys):
  out, path, raw = done
  lines = raw.split(b"\n")[:-1]
  torn = lines[-1][:25]  # the process died while writing the last record
  path.write_bytes(b"\n".join(lines[:-1]) + b"\n" + torn)
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 0, err
  assert path.read_bytes() == raw  # byte-identical to the uninterrupted run
  assert (path.parent / "results.jsonl.torn").read_bytes() == torn + b"\n"


def test_a_last_record_without_its_newline_is_kept(done, capsys):
  out, path, raw = done
  path.write_bytes(raw[:-1])  # e.g. an editor that strips the final newline
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 0, err
  assert path.read_bytes() == raw
  assert not (path.parent / "results.jsonl.torn").exists()


def test_a_last_line_that_is_not_a_record_start_is_refused(done, capsys):
  out, path, raw = done
  path.write_bytes(raw + b"notes: rerun later")
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 2
  assert "line 31" in one_line(err)
  assert path.read_bytes() == raw + b"notes: rerun later"


# --------------------------------------------------------------------------
# Records are never reused under another config.


def test_missing_config_json_is_refused_not_guessed(done, capsys):
  out, path, raw = done
  (path.parent / "config.json").unlink()
  status, _, err = run(capsys, out, "--seed", "8")
  assert status == 2
  message = one_line(err)
  assert "no config.json" in message and "--fresh" in message
  assert path.read_bytes() == raw


@pytest.mark.parametrize("text", ["{not json", "[]", '{"config": 3}', ""])
def test_unreadable_config_json_is_refused(done, capsys, text):
  out, path, raw = done
  (path.parent / "config.json").write_text(text)
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 2, err
  assert "config.json" in one_line(err)
  assert path.read_bytes() == raw


def test_records_of_another_config_are_refused(done, tmp_path, capsys):
  out, path, raw = done
  other = tmp_path / "other"
  assert run(capsys, other, "--seed", "8")[0] == 0
  target = F.run_dir(other) / "results.jsonl"
  target.write_bytes(raw)  # records of seed 7 next to the config of seed 8
  status, _, err = run(capsys, other, "--seed", "8")
  assert status == 2
  assert "record of config" in one_line(err)
  assert target.read_bytes() == raw


def test_fresh_moves_the_old_run_aside(done, capsys):
  out, path, raw = done
  status, _, err = run(capsys, out, "--seed", "8", "--fresh")
  assert status == 0, err
  olds = sorted(path.parent.glob("old-*"))
  assert len(olds) == 1
  assert (olds[0] / "results.jsonl").read_bytes() == raw
  assert json.loads((olds[0] / "config.json").read_text())["seed"] == 7
  assert {r["seed"] for r in F.records(out)} == {8}


# --------------------------------------------------------------------------
# One writer per directory.


def _start_gated(out, gate, *args):
  env = {**os.environ, F.GATE: str(gate)}
  proc = subprocess.Popen(
    F.launcher("run", F.NAME, "--out", str(out), "--no-progress", *args),
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
    env=env,
  )
  path = F.run_dir(out) / "results.jsonl"
  deadline = time.time() + 120
  while not (path.exists() and path.read_bytes().count(b"\n") >= 1):
    assert proc.poll() is None, proc.communicate()
    assert time.time() < deadline, "the gated run never wrote its first record"
    time.sleep(0.05)
  return proc  # now waiting at point 1, holding the lock


@pytest.mark.slow
def test_a_second_run_and_fresh_are_refused_while_a_run_writes(tmp_path):
  out, gate = tmp_path / "out", tmp_path / "gate"
  first = _start_gated(out, gate, "--seed", "7")
  try:
    for args in (["--seed", "7"], ["--seed", "7", "--fresh"], ["--seed", "8", "--fresh"]):
      t0 = time.time()
      res = subprocess.run(
        F.launcher("run", F.NAME, "--out", str(out), "--no-progress", *args),
        capture_output=True,
        text=True,
        timeout=120,
      )
      assert res.returncode == 2, res.stderr
      message = one_line(res.stderr)
      assert f"PID {first.pid}" in message and str(F.run_dir(out)) in message
      assert time.time() - t0 < 100  # at once, not after the other run
    assert not list(F.run_dir(out).glob("old-*"))  # --fresh moved nothing
  finally:
    gate.touch()
    _, err = first.communicate(timeout=120)
  assert first.returncode == 0, err
  recs = F.records(out)
  assert [r["point"]["i"] for r in recs] == list(range(30))  # each point once
  assert {r["seed"] for r in recs} == {7}


@pytest.mark.slow
def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path, capsys):
  out, gate = tmp_path / "out", tmp_path / "gate"
  first = _start_gated(out, gate, "--seed", "7")
  first.send_signal(signal.SIGKILL)
  first.communicate()
  assert (F.run_dir(out) / ".lock").exists()
  status, _, err = run(capsys, out, "--seed", "7")
  assert status == 0, err
  assert [r["point"]["i"] for r in F.records(out)] == list(range(30))


# --------------------------------------------------------------------------
# One file mode for everything; an empty --out is refused.


def test_every_file_of_a_run_has_the_same_mode(tmp_path, capsys):
  old = os.umask(0o027)
  try:
    status, _, err = run(capsys, tmp_path / "out", "--seed", "7")
  finally:
    os.umask(old)
  assert status == 0, err
  d = F.run_dir(tmp_path / "out")
  modes = {p.name: p.stat().st_mode & 0o777 for p in d.iterdir() if p.is_file()}
  assert {"config.json", "results.jsonl", "summary.md"} <= set(modes)
  assert set(modes.values()) == {0o640}, modes  # 0o666 less the umask, as open() does


def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(tmp_path)
  status, _, err = run(capsys, "", "--seed", "7")
  assert status == 2
  assert "--out" in one_line(err)
  assert list(tmp_path.iterdir()) == []
