"""Distributed start-up: bad ``--distributed`` options end in one line and
exit status 2 before JAX is used; a coordinator that is not there (or peers
that never join) ends within ``--distributed-timeout`` with one line naming
the coordinator and a non-zero status, never a C++ abort. Every command runs
in its own process with a deadline, as a hang or an abort is the failure."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jaxrnn import cli

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _jaxrnn(*args, timeout=60):
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
  for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
    env.pop(proxy, None)
  t0 = time.monotonic()
  try:
    res = subprocess.run(
      [sys.executable, "-m", "jaxrnn", "run", "random_features", "--no-progress", *args],
      capture_output=True,
      text=True,
      timeout=timeout,
      env=env,
      cwd=REPO,
    )
  except subprocess.TimeoutExpired:
    pytest.fail(f"jaxrnn {' '.join(args)} still running after {timeout} s")
  return res, time.monotonic() - t0


def _one_line(res) -> str:
  err = res.stderr.strip()
  assert "Traceback" not in err and "Check failure" not in err, err
  lines = err.splitlines()
  assert len(lines) == 1, err
  return lines[0]


@pytest.mark.parametrize(
  "args,message",
  [
    (["--coordinator", "127.0.0.1:{port}", "--num-processes", "2", "--process-id", "5"],
     "--process-id must lie in 0..1"),
    (["--coordinator", "127.0.0.1:{port}", "--num-processes", "0", "--process-id", "0"],
     "--num-processes must be >= 1"),
    ([], "--distributed needs --coordinator HOST:PORT"),
    (["--coordinator", "127.0.0.1:99999", "--num-processes", "2", "--process-id", "1"],
     "--coordinator must be HOST:PORT with a port in 1..65535"),
    (["--coordinator", "127.0.0.1", "--num-processes", "2", "--process-id", "1"],
     "--coordinator must be HOST:PORT"),
    (["--coordinator", "127.0.0.1:{port}", "--process-id", "1"], "needs --num-processes"),
    (["--coordinator", "127.0.0.1:{port}", "--num-processes", "2", "--process-id", "1",
      "--distributed-timeout", "0"], "--distributed-timeout must lie in"),
  ],
)  # fmt: skip
@pytest.mark.slow
def test_bad_distributed_options_are_one_line_and_status_2(args, message):
  port = str(_free_port())
  res, _ = _jaxrnn("--distributed", *[a.replace("{port}", port) for a in args])
  assert res.returncode == 2, res.stderr
  assert message in _one_line(res)


@pytest.mark.slow
def test_an_unreachable_coordinator_ends_within_the_timeout_naming_it():
  port = _free_port()  # nothing listens there
  args = ["--distributed", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
  res, elapsed = _jaxrnn(*args, "--process-id", "1", "--distributed-timeout", "3")
  line = _one_line(res)
  assert res.returncode == cli.EXIT_UNREACHABLE != 0, res.stderr
  assert f"127.0.0.1:{port}" in line and "could not reach" in line
  assert elapsed < 3 + 30  # start-up of Python and JAX, then at most the timeout


@pytest.mark.slow
def test_an_unresolvable_coordinator_host_is_named_at_once():
  args = ["--distributed", "--coordinator", "no-such-host.invalid:12345", "--num-processes", "2"]
  res, _ = _jaxrnn(*args, "--process-id", "1", "--distributed-timeout", "20")
  line = _one_line(res)
  assert res.returncode == cli.EXIT_UNREACHABLE
  assert "no-such-host.invalid:12345" in line


@pytest.mark.slow
def test_a_coordinator_whose_peers_never_join_gives_up_with_one_line():
  port = _free_port()
  args = ["--distributed", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
  res, elapsed = _jaxrnn(*args, "--process-id", "0", "--distributed-timeout", "3")
  line = _one_line(res)
  assert res.returncode == cli.EXIT_UNREACHABLE, res.stderr
  assert f"127.0.0.1:{port}" in line and "not all 2 processes joined" in line
  assert elapsed < 3 + 30


def test_the_docs_give_the_start_up_timeout_and_its_default():
  text = " ".join((REPO / "docs" / "accelerators.md").read_text().split())
  m = re.search(r"`--distributed-timeout`[^.]*?(\d+) s", text)
  assert m, "docs/accelerators.md does not document --distributed-timeout"
  assert float(m.group(1)) == cli.DISTRIBUTED_TIMEOUT
