"""Line-of-sight machinery: radial-function tables against scipy, the visibility derivative
used by the Doppler source, and the RODAS4 integrator on a stiff linear problem."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import spherical_jn

import cosmo
from cosmo.oracle.cosmologies import COSMOLOGIES
from cosmo.perturbations.integrator import solve_linear_rosenbrock
from cosmo.perturbations.local import local_quantities
from cosmo.transfer import bessel_table, l_sampling
from cosmo.transfer.bessel import bessel_zero_below
from cosmo.harmonic import compute_cl
from cosmo.transfer import cmb_perturbations, compute_transfer
from cosmo.transfer.transfer import los_blocks, transfer_k_grid
from cosmo.precision import get_precision


@pytest.mark.parametrize("l", [2, 3, 4, 17, 250, 2500])
def test_radial_functions_match_scipy(l):
    tab = bessel_table(np.array([l]), 0.25, 4000.0)
    x = np.concatenate([np.linspace(1e-3, 3.0, 2001), np.linspace(3.0, 3999.0, 80001)])
    r = np.asarray(tab.radial(0, jnp.asarray(x)))
    j, dj = spherical_jn(l, x), spherical_jn(l, x, derivative=True)
    d2j = -2.0 * dj / x - (1.0 - l * (l + 1.0) / x**2) * j
    for q, ref in enumerate([j, dj, 0.5 * (3.0 * d2j + j), j / x**2]):
        err = np.max(np.abs(r[:, q] - ref)) / np.max(np.abs(ref))
        assert err < 1e-5, (l, q, err)


@pytest.mark.parametrize("l", [2, 17, 700])
def test_radial_function_derivative_in_x(l):
    """The x-derivative of the interpolated radial functions (the line-of-sight reverse pass reads
    it: chi = tau0 - tau depends on the cosmology) is the derivative of the functions themselves:
    d j_l / dx = j_l' and d j_l' / dx = j_l'' (Bessel's equation), against scipy; reverse mode
    equals forward mode; outside the table the interpolant is clipped, so its derivative is 0.
    (The derivative of the cubic Hermite interpolant is accurate to O(dx^3): 6-9e-5 of the
    maximum at dx = 0.25.)"""
    tab = bessel_table(np.array([l]), 0.25, 3000.0)
    x = np.linspace(0.3, 2999.0, 40001)
    r, dr = jax.jvp(lambda u: tab.radial(0, u), (jnp.asarray(x),), (jnp.ones(x.size),))
    j, dj = spherical_jn(l, x), spherical_jn(l, x, derivative=True)
    d2j = -2.0 * dj / x - (1.0 - l * (l + 1.0) / x**2) * j
    for q, ref in ((0, dj), (1, d2j)):
        err = np.max(np.abs(np.asarray(dr)[:, q] - ref)) / np.max(np.abs(ref))
        assert err < 1e-4, (l, q, err)
    w = jnp.asarray(np.random.default_rng(l).normal(size=4))
    g = jax.grad(lambda u: jnp.sum(tab.radial(0, u) @ w))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), np.asarray(dr @ w), rtol=1e-12, atol=1e-15)
    beyond = jax.jvp(lambda u: tab.radial(0, u), (jnp.array([3001.0, 3500.0]),), (jnp.ones(2),))[1]
    assert np.all(np.asarray(beyond) == 0.0)
    # at x = 0 (chi = 0, the last line-of-sight node): the one-sided derivative (j_2'' = 2/15 there)
    at0 = np.asarray(jax.jvp(lambda u: tab.radial(0, u), (jnp.zeros(1),), (jnp.ones(1),))[1])[0]
    h = 1e-5
    one_sided = (np.asarray(tab.radial(0, jnp.array([h])))[0] - np.asarray(tab.radial(0, jnp.zeros(1)))[0]) / h
    np.testing.assert_allclose(at0, one_sided, atol=1e-4)
    assert (l != 2) or abs(at0[1] - 2.0 / 15.0) < 1e-4


def test_radial_subset_and_exact_zeros_below_the_turning_region():
    ls = np.array([2, 40, 700, 3000])
    tab = bessel_table(ls, 0.25, 5000.0)
    x = jnp.linspace(0.0, 4999.0, 30001)
    for il, l in enumerate(ls):
        full = tab.radial(il, x)
        np.testing.assert_array_equal(np.asarray(tab.radial(il, x, (0, 3))), np.asarray(full[..., [0, 3]]))
        below = np.asarray(x) < bessel_zero_below(int(l)) - tab.dx
        assert np.all(np.asarray(full)[below] == 0.0)
        assert np.any(np.asarray(full)[~below] != 0.0)


@pytest.mark.parametrize("l_max", [250, 3000])
def test_los_blocks_partition_the_multipoles_and_drop_only_vanishing_integrands(l_max):
    prec = get_precision("default")
    ls, kq = l_sampling(prec, l_max), transfer_k_grid(prec, l_max)
    blocks = los_blocks(prec, ls, kq)
    np.testing.assert_array_equal(np.concatenate([b.l_index for b in blocks]), np.arange(len(ls)))
    for b in blocks:
        l_block = ls[b.l_index]
        assert len({(l <= prec.transfer_late_source_l, l <= prec.l_switch_limber) for l in l_block}) == 1
        assert b.late_sources == (l_block[0] <= prec.transfer_late_source_l)
        assert b.phi_exact == (l_block[0] <= prec.l_switch_limber)
        for l, lo in zip(l_block, b.q_start):
            hi = lo + b.q_width
            assert 0 <= lo and hi <= len(kq)
            # below the window, k chi < the Bessel tables' zero region for every possible distance
            assert lo == 0 or kq[lo - 1] * prec.bessel_chi_max < bessel_zero_below(int(l))
            # the window reaches the cut k = l / chi_cut + dk
            assert hi == len(kq) or kq[hi - 1] >= l / prec.transfer_k_cut_chi + prec.transfer_k_cut_dk
    off = dataclasses.replace(prec, transfer_k_cut_dk=100.0)
    assert all(b.q_start[-1] + b.q_width == len(kq) for b in los_blocks(off, ls, kq))


def test_los_windows_match_the_full_integral_on_real_sources():
    """The windowed line of sight (k cut, late t0 only above l = 400) against every k and every
    source at every time, on the same planck2018 sources (fast preset, l_max 700). Both on the
    transfer grid itself (``q_refine_low_l = 1``): with every source kept at every l the refined
    grid of the late-source multipoles would extend to all l, a different quadrature."""
    l_max = 700
    prec = dataclasses.replace(get_precision("fast"), q_refine_low_l=1)
    full = dataclasses.replace(prec, transfer_k_cut_dk=100.0, transfer_late_source_l=10**6)
    cp = cosmo.params.resolve(COSMOLOGIES["planck2018"])
    sol = cosmo.solve(cp, prec)
    bg, th = sol.background, sol.thermo
    pert = jax.jit(lambda cp, bg, th: cmb_perturbations(cp, bg, th, prec, l_max))(cp, bg, th)
    assert any(not b.late_sources for b in los_blocks(prec, l_sampling(prec, l_max), transfer_k_grid(prec, l_max)))
    cls = [
        jax.jit(lambda p, bg, th, pr=pr: compute_cl(cp, compute_transfer(p, bg, th, pr, l_max), l_max).as_dict())(pert, bg, th)
        for pr in (prec, full)
    ]
    win, ref = ({k: np.asarray(v)[2:] for k, v in c.items()} for c in cls)
    for key in ("tt", "ee", "pp"):
        assert np.max(np.abs(win[key] / ref[key] - 1.0)) < 1e-5, key
    assert np.max(np.abs(win["te"] - ref["te"]) / np.sqrt(ref["tt"] * ref["ee"])) < 1e-5
    assert np.max(np.abs(win["tt"] / ref["tt"] - 1.0)) > 0.0  # the windows do drop terms


def test_l_sampling_is_increasing_and_ends_at_l_max():
    ls = l_sampling(get_precision("default"), 2500)
    assert ls[0] == 2 and ls[-1] == 2500 and np.all(np.diff(ls) > 0)
    assert np.max(np.diff(ls)) <= get_precision("default").l_linstep


def test_visibility_derivative_is_the_time_derivative_of_g():
    cp = cosmo.params.resolve(COSMOLOGIES["planck2018"])
    sol = cosmo.solve(cp)
    for z in (1300.0, 1090.0, 900.0, 7.7):
        x = -jnp.log1p(z)
        loc, dloc = jax.jvp(lambda xx: local_quantities(sol.background, sol.thermo, xx), (x,), (jnp.ones_like(x),))
        # d g / d tau = aH d g / d ln a
        g_tau = loc.aH * (dloc.dkappa * loc.exp_m_kappa + loc.dkappa * dloc.exp_m_kappa)
        assert abs(float(loc.g_prime / g_tau) - 1.0) < 1e-6, z


@pytest.mark.parametrize("name", ["planck2018", "box_low"])
def test_time_quadrature_is_spectrally_accurate_on_line_of_sight_integrands(name):
    """The weights of the line-of-sight time integrals (trapezoid in ln a through recombination,
    in fiducial conformal time after it, times dtau/du) integrate a visibility-like peak times an
    oscillation of CMB wavenumbers to 1e-9 of the envelope's integral, where a trapezoid in tau on the same nodes
    is off by 1e-8-3e-7 of it (its step varies across the peak: the 1.2e-6 in every C_l, CHANGELOG 2026-12-01);
    and the weights sum to the conformal time they span."""
    from cosmo.interpolation import trapezoid_weights
    from cosmo.transfer.transfer import quadrature_loga, quadrature_weights

    prec = get_precision("default")
    sol = cosmo.solve(COSMOLOGIES[name])
    bg, th = sol.background, sol.thermo
    tau = bg.conformal_time_loga(jnp.asarray(quadrature_loga(prec)))
    w = quadrature_weights(bg, prec)
    assert abs(float(jnp.sum(w) / (tau[-1] - tau[0])) - 1.0) < 1e-7
    t_star = float(th.tau_star)
    for sigma, k in ((10.0, 0.3), (15.0, 0.1), (5.0, 0.6)):
        f = jnp.exp(-0.5 * ((tau - t_star) / sigma) ** 2) * jnp.cos(k * (tau - t_star))
        scale = math.sqrt(2 * math.pi) * sigma  # the integral of the envelope
        exact = scale * math.exp(-0.5 * (k * sigma) ** 2)
        ours = (float(jnp.sum(w * f)) - exact) / scale
        trapezoid_in_tau = (float(jnp.sum(trapezoid_weights(tau) * f)) - exact) / scale
        assert abs(ours) < 1e-9, (sigma, k, ours)
        assert abs(trapezoid_in_tau) > 5e-9 and abs(trapezoid_in_tau) > 10 * abs(ours), (sigma, k, trapezoid_in_tau)


@pytest.mark.parametrize("name", ["planck2018", "box_low"])
def test_time_quadrature_end_corrections_remove_the_trapezoid_end_terms(name):
    """Each piece of the time quadrature (uniform in ln a, then in fiducial conformal time) carries
    Gregory's end corrections: an oscillating integrand that does not vanish at the ends of the
    pieces, exp(-(tau - tau_a) / L) cos(k tau) (k tau_step ~ 0.5 on the late piece), integrates to
    5e-6 of the envelope's integral against its closed form (measured 2.4e-6 and 3.7e-6), where a
    trapezoid without end corrections on the same nodes (here in tau) is off by 1e-4; the weights
    still sum to the conformal time they span, and are exact for cubics on uniform nodes."""
    from cosmo.interpolation import gregory_weights, trapezoid_weights
    from cosmo.transfer.transfer import quadrature_loga, quadrature_weights

    prec = get_precision("default")
    sol = cosmo.solve(COSMOLOGIES[name])
    bg = sol.background
    tau = bg.conformal_time_loga(jnp.asarray(quadrature_loga(prec)))
    w = quadrature_weights(bg, prec)
    ta, tb = float(tau[0]), float(tau[-1])
    assert abs(float(jnp.sum(w) / (tb - ta)) - 1.0) < 1e-7
    length, k = 3000.0, 0.05

    def antiderivative(t):
        return math.exp(-(t - ta) / length) * (k * math.sin(k * t) - math.cos(k * t) / length) / (k * k + length**-2)

    exact = antiderivative(tb) - antiderivative(ta)
    f = jnp.exp(-(tau - ta) / length) * jnp.cos(k * tau)
    ours = (float(jnp.sum(w * f)) - exact) / length
    trapezoid_in_tau = (float(jnp.sum(trapezoid_weights(tau) * f)) - exact) / length
    assert abs(ours) < 5e-6, ours
    assert abs(trapezoid_in_tau) > 10 * abs(ours), (trapezoid_in_tau, ours)
    # the weights themselves: exact for cubics on uniform nodes
    u = np.linspace(0.0, 3.0, 13)
    for p in range(4):
        assert abs(gregory_weights(13, 0.25) @ u**p - 3.0 ** (p + 1) / (p + 1)) < 1e-12, p


def test_rosenbrock_is_fourth_order_and_stiffly_stable():
    """y' = A(t) y with a fast decaying mode slaved to a slow one (tight-coupling-like)."""
    lam = 1e8

    def field(t, t_step, y):
        A = jnp.array([[-1.0 - t, 0.0], [lam * (1.0 + t), -lam * (1.0 + t)]])
        return A @ y

    def exact(t):
        u = jnp.exp(-t - 0.5 * t**2)
        return u  # the stiff component follows u to O(1/lam)

    errs = []
    for n in (20, 40):
        ts = jnp.linspace(0.0, 1.0, n + 1)
        y = solve_linear_rosenbrock(field, jnp.array([1.0, 1.0]), ts)
        errs.append(float(jnp.abs(y[-1, 0] - exact(1.0))))
        assert abs(float(y[-1, 1] - y[-1, 0])) < 1e-6
    assert errs[0] < 1e-6 and errs[0] / errs[1] > 12.0, errs


def test_rosenbrock_dense_output_is_hermite_of_fourth_order():
    """The ``dense`` output (state and derivative at both ends of every step) interpolated by
    :func:`hermite_dense` between the nodes: exact on the nodes, O(h^4) between them, and the
    node after ``n_live`` reads the final state."""
    from cosmo.perturbations.integrator import hermite_dense

    def field(t, t_step, y):
        return jnp.array([[0.0, 1.0], [-1.0, 0.0]]) @ y * (1.0 + t)

    def exact(t):  # y0 = (1, 0): y = (cos, -sin)(t + t^2/2)
        p = t + 0.5 * t**2
        return np.stack([np.cos(p), -np.sin(p)], axis=-1)

    errs = []
    for n in (10, 20):
        ts = jnp.linspace(0.0, 1.0, n + 1)
        on_nodes = solve_linear_rosenbrock(field, jnp.array([1.0, 0.0]), ts)
        data = solve_linear_rosenbrock(field, jnp.array([1.0, 0.0]), ts, dense=np.array([0, 1]))
        np.testing.assert_array_equal(hermite_dense(ts, data, jnp.arange(n + 1.0)), on_nodes)
        position = jnp.arange(n) + 0.37
        t_mid = np.asarray(ts[:-1]) + 0.37 / n
        errs.append(float(np.abs(np.asarray(hermite_dense(ts, data, position)) - exact(t_mid)).max()))
    assert errs[0] < 1e-4 and errs[0] / errs[1] > 12.0, errs
    # n_live: the skipped steps carry the final state, so the last live node is read exactly
    ts = jnp.concatenate([jnp.linspace(0.0, 1.0, 11), jnp.ones(3)])
    data = solve_linear_rosenbrock(field, jnp.array([1.0, 0.0]), ts, n_live=jnp.asarray(11), dense=np.array([0, 1]))
    ref = solve_linear_rosenbrock(field, jnp.array([1.0, 0.0]), ts[:11])
    np.testing.assert_allclose(hermite_dense(ts, data, jnp.array([10.0, 12.0])), ref[jnp.array([10, 10])], rtol=0, atol=1e-15)


def test_source_positions_and_free_source_nodes():
    """Source nodes up to ``loga_free`` are grid nodes (integer positions); later ones fall between
    nodes at the right fraction of their step; the last node (today) is the grid's last; freeing
    the late source nodes shortens the grid (the sources themselves: tests/test_perturbations.py)."""
    from cosmo.perturbations.evolve import mode_grid, source_positions
    from cosmo.perturbations.perturbations import source_grid

    prec = get_precision("default")
    src = source_grid(prec, cmb=True)
    x_free = -np.log1p(prec.pert_z_dense)
    grid, pos = mode_grid(0.2, src, -12.0, prec.pert_dloga, prec.pert_dphase, -6.5, (), loga_free=x_free)
    forced = src <= x_free
    np.testing.assert_array_equal(grid[pos[forced].astype(int)], src[forced])
    assert pos[-1] == len(grid) - 1 and grid[-1] == 0.0
    n = np.floor(pos[~forced][:-1]).astype(int)
    theta = pos[~forced][:-1] - n
    np.testing.assert_allclose(grid[n] + theta * (grid[n + 1] - grid[n]), src[~forced][:-1], rtol=0, atol=1e-13)
    assert len(grid) < len(mode_grid(0.2, src, -12.0, prec.pert_dloga, prec.pert_dphase, -6.5, ())[0])
    # a low-k mode (steps set by pert_dloga) with no forced source node: within the window
    # (recombination) its steps are at most d_rec in ln a (a few per cent more where the window
    # starts or ends inside a step), outside it they stay pert_dloga
    x_lo, x_hi, d_rec = -np.log1p(prec.cmb_z_start), -np.log1p(prec.cmb_z_rec_end), 0.016
    g_free, pos = mode_grid(1e-4, src, -12.0, prec.pert_dloga, prec.pert_dphase, 1.0, (), loga_free=x_lo,
                            d_log_window=(x_lo, x_hi, d_rec))
    mid = (g_free[1:] + g_free[:-1]) / 2
    inside = (g_free[:-1] >= x_lo) & (g_free[1:] <= x_hi)
    assert inside.sum() >= (x_hi - x_lo) / d_rec - 1
    assert np.diff(g_free)[inside].max() <= d_rec * 1.01
    assert np.diff(g_free)[mid < x_lo - 0.1].max() > 0.02
    np.testing.assert_allclose(np.interp(pos, np.arange(len(g_free)), g_free), src, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="outside"):
        source_positions(grid, np.array([1.0]))


def test_fine_k_grid_nests_the_transfer_grid():
    """The late-source multipoles' optional T/E grid: every interval split in ``factor`` (uniformly in
    the grid variable), the transfer grid's nodes every factor-th node (so T-phi can stay on the
    coarse grid); its weights integrate what the coarse ones do."""
    from cosmo.transfer.transfer import fine_transfer_k_grid, transfer_k_weights

    prec = get_precision("default")
    kq, w = transfer_k_grid(prec, 1000), transfer_k_weights(prec, 1000)
    np.testing.assert_array_equal(fine_transfer_k_grid(prec, 1000, len(kq), 1)[1], w)
    for f in (1, 2, 3):
        fine, wf = fine_transfer_k_grid(prec, 1000, 800, f)
        assert len(fine) == 799 * f + 1 and np.all(np.diff(fine) > 0)
        np.testing.assert_array_equal(fine[::f], kq[:800])
        sigma = 0.0008  # a Gaussian at k = 0.004 /Mpc (node 800: k = 0.0092)
        assert abs(wf @ np.exp(-(((fine - 0.004) / sigma) ** 2)) / (np.sqrt(np.pi) * sigma) - 1.0) < 1e-9
    assert np.max(np.diff(kq)) <= prec.q_linstep * 2.0 * np.pi / 13860.0 * (1.0 + 1e-12)


def test_k_quadrature_of_c_l_integrands_has_no_kink_error():
    """int dk/k j_l(k chi_rec)^2 D(k) (D: a damping envelope) with the transfer grid's weights, for
    multipoles whose j_l turns on below, at and above the blend of logarithmic and linear steps
    (k ~ 0.027 /Mpc, l ~ 370), against a dense trapezoid: < 1e-8. The kinked grid of before
    (logarithmic until the steps meet, then linear; trapezoid in k) is off by 1.9e-5 at l = 100 and
    2.7-4.7e-5 at l = 340-370."""
    from scipy.special import spherical_jn

    from cosmo.transfer.transfer import _log_then_linear, transfer_k_weights

    prec = get_precision("default")
    kq, w = transfer_k_grid(prec, 700), transfer_k_weights(prec, 700)
    step = prec.q_linstep * 2.0 * np.pi / 13860.0
    kink = _log_then_linear(prec.q_k_min, kq[-1], prec.q_per_decade, step)
    chi = 13900.0
    dense = np.linspace(1e-9, kq[-1], 2_000_001)
    old = []
    for l in (100, 250, 340, 370, 450):
        def f(k):
            return spherical_jn(l, k * chi) ** 2 / k * np.exp(-((k / 0.04) ** 2))

        exact = np.trapezoid(f(dense), dense)
        assert abs(w @ f(kq) / exact - 1.0) < 1e-8, l
        old.append(abs(np.trapezoid(f(kink), kink) / exact - 1.0))
    assert max(old) > 2e-5


@pytest.mark.parametrize("structured", [False, True])
def test_rosenbrock_reverse_save_options_give_the_same_gradient(structured):
    """``reverse_save`` only changes what the reverse pass stores (state, + factorisation, + stage
    vectors), never the gradient: with the dense LU and with the chain solver."""
    from cosmo.perturbations.chains import ChainStructure

    from .test_chains import structured_matrix

    st = ChainStructure(24, ((4, 5), (10, 3), (14, 10)))
    M = jnp.asarray(structured_matrix(st, np.random.default_rng(1)))
    ts = jnp.linspace(0.0, 0.5, 13)
    y0 = jnp.linspace(1.0, 2.0, st.n)

    def loss(p, reverse_save):
        def field(c, t_step, y):
            return -(0.3 + p * c) * (M @ y)

        ys = solve_linear_rosenbrock(field, y0, ts, structure=st if structured else None, reverse_save=reverse_save)
        return jnp.sum(ys[-1] ** 2) + jnp.sum(ys[5])

    grads = [float(jax.jit(jax.grad(loss), static_argnums=1)(0.7, mode)) for mode in ("state", "factors", "stages")]
    assert np.isfinite(grads[0]) and grads[0] != 0.0
    np.testing.assert_allclose(grads[1:], grads[0], rtol=1e-12)
    with pytest.raises(ValueError, match="reverse_save"):
        loss(0.7, "everything")
