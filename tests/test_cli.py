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


def test_cli_solver_programs_reach_the_compilation_cache(tmp_path):
    """The ``cosmo`` command runs equinox's runtime checks in "nan" mode (a failed Newton
    iteration in a chain gives -inf, not a crash), which leaves the solver's programs free of host
    callbacks: JAX's persistent cache stores them, so a repeated run skips their compilation."""
    import os
    import subprocess
    import sys

    script = (
        "import inference.cli, equinox._config as c; assert c.EQX_ON_ERROR == 'nan', c.EQX_ON_ERROR; "
        "inference.cli.enable_compilation_cache(); import cosmo; "
        "from cosmo.oracle.cosmologies import COSMOLOGIES; "
        "print(float(cosmo.solve(COSMOLOGIES['planck2018']).thermo.z_star))"
    )
    env = {k: v for k, v in os.environ.items() if k != "EQX_ON_ERROR"}
    env.update(COSMO_JAX_CACHE=str(tmp_path), JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 1085.0 < float(run.stdout.split()[-1]) < 1095.0
    assert any(p.name.startswith("jit__solve-") for p in tmp_path.iterdir()), sorted(p.name for p in tmp_path.iterdir())
