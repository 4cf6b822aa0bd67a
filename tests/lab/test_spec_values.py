"""Values inside strings are checked like numbers, up front: target specs
(``sin:1e300``, ``pow:100000000``), lambda lists, language patterns
(``contains:`` with no pattern), and the environment variable jaxrnn reads
(``JAXRNN_ALLOW_LARGE``). Each ends in one line
and exit status 2 before any work (they used to pass the config check and
fail later with a traceback, an overflow warning or null metrics)."""

import pytest

from jaxrnn import cli, experiments
from jaxrnn._src import languages as langs
from jaxrnn.experiments import languages, normalization, training
from tests import _fake_experiment as F

TRAIN = [
  (["targets=pow:1,sin:1e300", "axis_targets=pow:1"], r"targets: 'sin:1e300' holds 1e\+300"),
  (["targets=pow:1,pow:100000000", "axis_targets=pow:1"], r"'pow:100000000' holds 1e\+08"),
  (["lams=1e300"], r"lams: '1e300' holds 1e\+300, beyond the limit"),
  (["lams=1,-1e7"], "lambda must be positive"),
]


@pytest.mark.parametrize("sets,message", TRAIN)
def test_numbers_inside_training_specs_obey_the_generic_limits(sets, message):
  with pytest.raises(experiments.ConfigError, match=message):
    experiments.apply_overrides(training.PRESETS["quick"], sets)


def test_allow_large_lifts_the_limit_inside_specs_as_for_numbers():
  cfg = experiments.apply_overrides(training.PRESETS["quick"], ["lams=2e6"], allow_large=True)
  assert cfg.lams == ("2e6",)
  with pytest.raises(experiments.ConfigError, match="phi 'sin:inf'"):
    experiments.apply_overrides(normalization.PRESETS["quick"], ["phi=sin:inf"], allow_large=True)
  ok = experiments.apply_overrides(
    training.PRESETS["quick"], ["targets=pow:1,cos1:3,prod", "axis_targets=pow:1"]
  )
  assert ok.targets == ("pow:1", "cos1:3", "prod")  # the 1 of cos1 is part of the name


@pytest.mark.parametrize(
  "name,message",
  [("contains:", "must hold 1 to 256 bits, got 0"), ("contains:" + "01" * 200, "got 400")],
)
def test_a_language_pattern_must_hold_some_bits(name, message):
  with pytest.raises(ValueError, match=message):
    langs.get_dfa(name)
  with pytest.raises(experiments.ConfigError, match="languages: pattern of 'contains:'"):
    experiments.apply_overrides(languages.PRESETS["quick"], [f"languages=tomita1,{name}"])


@pytest.mark.slow
def test_an_empty_pattern_is_one_line_on_the_command_line(capsys):
  status = cli.main(["run", "languages", "--set", "languages=contains:"])
  err = capsys.readouterr().err
  assert status == 2 and len(err.strip().splitlines()) == 1, err
  assert "must hold 1 to 256 bits" in err


@pytest.mark.parametrize(
  "var,value,message", [("JAXRNN_ALLOW_LARGE", "maybe", "JAXRNN_ALLOW_LARGE must be one of")]
)
@pytest.mark.slow
def test_bad_environment_variables_are_one_line_before_any_work(
  var, value, message, monkeypatch, tmp_path, capsys
):
  F.install(monkeypatch)
  monkeypatch.setenv(var, value)
  out = tmp_path / "out"
  status = cli.main(["run", F.NAME, "--out", str(out), "--no-progress"])
  err = capsys.readouterr().err
  assert status == 2, err
  assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and message in err
  assert not (F.run_dir(out) / "results.jsonl").exists()


@pytest.mark.slow
def test_valid_environment_variables_are_accepted(monkeypatch, tmp_path, capsys):
  F.install(monkeypatch)
  monkeypatch.setenv("JAXRNN_ALLOW_LARGE", "off")
  assert cli.main(["run", F.NAME, "--out", str(tmp_path), "--no-progress"]) == 0
