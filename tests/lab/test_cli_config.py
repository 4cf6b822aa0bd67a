"""Discoverable configs: ``jaxrnn run NAME --help`` lists every config key;
a run whose ``--set`` changes the preset goes to a directory that says so;
a key given twice is refused.

The runs use the fake experiment (``tests/_fake_experiment.py``: no JAX,
milliseconds); ``--help`` is read off a real experiment, whose fields carry
help texts."""

import dataclasses
import json

import pytest

from jaxrnn import cli
from jaxrnn.lab import config
from tests import _fake_experiment as F


@pytest.fixture
def fake(monkeypatch):
  F.install(monkeypatch)


def run(capsys, *args):
  status = cli.main(list(args))
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def one_line(err):
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in err, err
  return lines[0]


# --------------------------------------------------------------------------
# run NAME --help


def test_run_help_lists_every_key_with_its_type_preset_values_and_help(capsys):
  from jaxrnn.experiments import random_features as rf

  status, out, err = run(capsys, "run", "random_features", "--help")
  assert status == 0, err
  assert "--set KEY=VALUE" in out  # the generic options are still there
  keys = out[out.index("config keys of random_features") :]
  types = config.field_types(rf.Config)
  helps = config.field_help(rf.Config)
  for f in dataclasses.fields(rf.Config):
    assert f"  {f.name} ({config.type_name(types[f.name])})" in keys, f.name
    assert helps[f.name] and " ".join(helps[f.name].split()) in " ".join(keys.split())
  # Each preset's value, as --set writes it (lists comma-separated).
  quick, paper = rf.PRESETS["quick"], rf.PRESETS["paper"]
  assert quick.ms != paper.ms
  assert f"quick: {','.join(map(str, quick.ms))}" in keys
  assert f"paper: {','.join(map(str, paper.ms))}" in keys
  assert f"quick, paper, tiny: {quick.d}" in keys  # the same value in every preset: one line
  assert "list of int" in keys and "(str)" in keys


def test_every_config_key_of_every_experiment_has_a_help_text():
  from jaxrnn import experiments

  missing = {
    name: [k for k, text in config.field_help(exp.config_type).items() if not text.strip()]
    for name, exp in experiments.registry().items()
  }
  assert not {n: keys for n, keys in missing.items() if keys}


def test_run_help_lists_every_preset_of_an_experiment(fake, capsys):
  status, out, _ = run(capsys, "run", F.NAME, "--help")
  assert status == 0
  keys = out[out.index("config keys of fake") :]
  for f in dataclasses.fields(F.Config):
    assert f"  {f.name} (" in keys
  assert "quick: 30" in keys and "paper: 60" in keys  # n differs between the presets
  assert "quick, paper: 0.0" in keys  # delay


def test_run_help_before_a_name_says_how_to_list_the_keys(capsys):
  status, out, _ = run(capsys, "run", "--help")
  assert status == 0
  assert "jaxrnn run NAME --help" in out and "config keys of" not in out


def test_run_help_of_an_unknown_experiment_is_one_line_and_status_2(capsys):
  status, out, err = run(capsys, "run", "nonsense", "--help")
  assert status == 2 and not out
  assert "unknown experiment 'nonsense'" in one_line(err)


def test_describe_fields_without_help_texts_still_lists_types_and_values():
  text = config.describe_fields(F.Config, {"quick": F.Config(), "other": F.Config(n=2)})
  assert "  n (int)\n      quick: 30\n      other: 2" in text
  assert "  delay (float)\n      quick, other: 0.0" in text


# --------------------------------------------------------------------------
# Where an overridden run goes


def test_an_overridden_run_goes_to_a_directory_that_is_not_the_preset(fake, tmp_path, capsys):
  status, out, err = run(
    capsys, "run", F.NAME, "--out", str(tmp_path), "--no-progress", "--set", "n=5"
  )
  assert status == 0, err
  (run_dir,) = (tmp_path / F.NAME).iterdir()
  assert run_dir.name.startswith("quick+set-") and run_dir.name != "quick"
  assert run_dir == F.run_dir(tmp_path, sets=["n=5"])
  assert f"results in {run_dir}" in out
  meta = json.loads((run_dir / "config.json").read_text())
  assert meta["preset"] == "quick" and meta["overrides"] == {"n": 5}
  assert meta["config"]["n"] == 5 and len(F.records(tmp_path, sets=["n=5"])) == 5


def test_the_same_overrides_resume_the_same_directory(fake, tmp_path, capsys):
  base = ["run", F.NAME, "--out", str(tmp_path), "--no-progress"]
  assert run(capsys, *base, "--set", "n=4", "--set", "delay=0")[0] == 0
  (first,) = (tmp_path / F.NAME).iterdir()
  written = (first / "results.jsonl").read_bytes()
  # The same overrides written another way (order, spaces, 4 as 4.0e0): the
  # same directory, nothing recomputed. delay=0 is the preset's value.
  assert run(capsys, *base, "--set", " n = 4.0e0 ")[0] == 0
  assert list((tmp_path / F.NAME).iterdir()) == [first]
  assert (first / "results.jsonl").read_bytes() == written
  assert json.loads((first / "config.json").read_text())["overrides"] == {"n": 4}
  # Other overrides: another directory.
  assert run(capsys, *base, "--set", "n=3")[0] == 0
  assert len(list((tmp_path / F.NAME).iterdir())) == 2


def test_a_set_that_keeps_the_preset_value_runs_the_preset(fake, tmp_path, capsys):
  base = ["run", F.NAME, "--out", str(tmp_path), "--no-progress"]
  assert run(capsys, *base, "--set", f"n={F.Config().n}")[0] == 0
  assert [p.name for p in (tmp_path / F.NAME).iterdir()] == ["quick"]
  assert "overrides" not in json.loads((tmp_path / F.NAME / "quick" / "config.json").read_text())
  # A preset other than quick is named after itself the same way.
  assert run(capsys, *base, "--preset", "paper", "--set", "n=2")[0] == 0
  assert F.run_dir(tmp_path, "paper", ["n=2"]).name.startswith("paper+set-")
  assert len(F.records(tmp_path, "paper", ["n=2"])) == 2


def test_the_seed_stays_in_the_preset_directory(fake, tmp_path, capsys):
  """The seed is recorded in config.json on its own and does not name the
  directory (a run at another seed there is refused as another config)."""
  base = ["run", F.NAME, "--out", str(tmp_path), "--no-progress"]
  assert run(capsys, *base, "--seed", "3")[0] == 0
  assert [p.name for p in (tmp_path / F.NAME).iterdir()] == ["quick"]
  assert json.loads((tmp_path / F.NAME / "quick" / "config.json").read_text())["seed"] == 3


@pytest.mark.parametrize(
  "args,message",
  [
    (["--set", "n=5", "--set", "n=6"], "config key 'n' is given twice ('n=5' and 'n=6')"),
    (["--set", "n=5", "--set", "n=5"], "config key 'n' is given twice"),
    (["--seed", "3", "--set", "seed=4"], "the seed is given twice"),
  ],
)
def test_a_key_given_twice_is_refused_with_one_line(fake, tmp_path, capsys, args, message):
  status, _, err = run(capsys, "run", F.NAME, "--out", str(tmp_path), "--no-progress", *args)
  assert status == 2
  assert message in one_line(err)
  assert not tmp_path.joinpath(F.NAME).exists()  # nothing was started


def test_a_preset_the_experiment_lacks_is_refused_with_one_line(fake, tmp_path, capsys):
  args = ["run", F.NAME, "--out", str(tmp_path), "--no-progress", "--preset", "tiny"]
  status, _, err = run(capsys, *args)
  assert status == 2
  assert f"{F.NAME} has no preset 'tiny'; its presets: quick, paper" in one_line(err)
  assert not tmp_path.joinpath(F.NAME).exists()


def test_run_name_depends_on_the_changes_only():
  assert config.run_name("quick", {}) == "quick"
  a = config.run_name("quick", {"ms": (8, 16), "L": 4})
  assert a == config.run_name("quick", {"L": 4, "ms": (8, 16)})  # order does not matter
  assert a != config.run_name("quick", {"ms": (8, 16), "L": 5})
  assert a != config.run_name("paper", {"ms": (8, 16), "L": 4})
  assert a.startswith("quick+set-") and len(a) == len("quick+set-") + config.RUN_NAME_DIGITS


def test_changed_fields_lists_what_differs_from_the_preset_but_the_seed():
  base = F.Config()
  assert config.changed_fields(base, base) == {}
  cfg = dataclasses.replace(base, n=3, delay=0.0, seed=9)
  assert config.changed_fields(cfg, base) == {"n": 3}
  assert config.changed_fields(cfg, base, ignore=()) == {"n": 3, "seed": 9}
