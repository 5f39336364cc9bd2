"""The main job (`cosmo run`) prints the comparison table and writes the figure."""

from inference.cli import main

from .conftest import requires_classy


@requires_classy
def test_cosmo_run_prints_table_and_writes_figure(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("z_star", "100*theta_s", "rs_d", "CLASS", "rel. diff"):
        assert name in out
    fig = tmp_path / "thermo.png"
    assert fig.exists() and fig.stat().st_size > 20_000


def test_cosmo_run_without_class_and_with_overrides(tmp_path, capsys):
    assert main(["run", "--no-class", "--param", "h=0.70", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("h "))
    assert "0.7" in line
