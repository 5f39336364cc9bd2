"""Hyperspherical Bessel functions (cosmo.transfer.hyperspherical): values and chi-derivative
against an independent extended-precision reference (Miller's backward recurrence in
``np.longdouble``, normalised on the closed forms of Phi_0 and Phi_1), the flat limit, the
small-chi series, the ODE via finite differences, and jax.grad in nu and chi against central
finite differences."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import spherical_jn

import cosmo  # noqa: F401  (float64)
from cosmo.transfer.hyperspherical import hyperspherical, hyperspherical_l_top

LS = (2, 3, 10, 50, 300, 1500, 2500)
NUS = (3.5, 10.0, 57.3, 400.0, 4000.0)


def miller_reference(ls, nu, chi, sgnK):
    """Phi_l and dPhi_l/dchi of the multipoles ``ls`` at ``chi > 0`` (numpy, extended precision).

    Miller's backward recurrence of the ODE-normalised ``y_l = Phi_l / prod_{k<=l} a_k``
    (``a_k^2 = nu^2 - sgnK k^2``): ``y_{l-1} = (2l+1) cot_K y_l - a_{l+1}^2 y_{l+1}``, started
    (``y = 0, tiny``) far above every turning point ``nu S(chi)``, rescaled in logs (``y_l`` spans
    ~1e-10000), normalised per chi by least squares on the closed forms
    ``y_0 = sin(nu chi) / (nu S)``, ``y_1 = (sin(nu chi) cot_K - nu cos(nu chi)) / (nu S a_1^2)``.
    ``dPhi_l = l cot_K Phi_l - a_{l+1}^2 y_{l+1} prod_{k<=l} a_k``. Closed: 0 for ``l >= nu``.
    (Agrees with mpmath's Legendre functions P^{-l-1/2}_{-1/2+i nu}(cosh chi) / sqrt(sinh chi),
    resp. P^{-l-1/2}_{nu-1/2}(cos chi) / sqrt(sin chi), to 2e-14 on this module's grid.)"""
    ld = np.longdouble
    K, nu = ld(sgnK), ld(nu)
    x = np.asarray(chi, dtype=ld)
    S = np.sinh(x) if sgnK == -1 else np.sin(x)
    cot = (np.cosh(x) if sgnK == -1 else np.cos(x)) / S
    need = sorted(set(ls) | {l + 1 for l in ls})
    top = int(max(need[-1], float(np.max(nu * S))) * 1.2) + 400
    y_next, y = np.zeros_like(x), np.full_like(x, ld(1e-300))  # y_{top+1}, y_top
    store, log_f = {}, np.zeros_like(x)  # stored y = true y * exp(log_f at storage)
    for l in range(top, 0, -1):
        if l in need:
            store[l] = (y.copy(), log_f.copy())
        y_next, y = y, ld(2 * l + 1) * cot * y - (nu * nu - K * ld(l + 1) ** 2) * y_next
        big = np.abs(y) > ld(1e200)
        if big.any():
            f = np.where(big, 1 / np.abs(y), ld(1))
            y, y_next, log_f = y * f, y_next * f, log_f + np.log(f)
    s, c = np.sin(nu * x), np.cos(nu * x)
    Y0, Y1 = s / (nu * S), (s * cot - nu * c) / (nu * S) / (nu * nu - K)
    norm = (Y0 * y + Y1 * y_next) / (y * y + y_next * y_next)
    log_prod = np.cumsum([0.5 * np.log(np.abs(nu * nu - K * ld(k) ** 2) + ld(1e-300)) for k in range(1, need[-1] + 1)])

    def scaled(l, log_p):
        v, lf = store[l]
        v = v * norm
        with np.errstate(divide="ignore"):
            return np.sign(v) * np.exp(np.log(np.abs(v)) + log_f - lf + log_p)

    phi = np.array([scaled(l, log_prod[l - 1]) for l in ls])
    P = np.array([(nu * nu - K * ld(l + 1) ** 2) * scaled(l + 1, log_prod[l - 1]) for l in ls])
    dphi = np.array(ls, dtype=ld)[:, None] * cot * phi - P
    if sgnK == 1:
        phys = (np.array(ls) < float(nu))[:, None]
        phi, dphi = np.where(phys, phi, 0), np.where(phys, dphi, 0)
    return phi.astype(np.float64), dphi.astype(np.float64)


@functools.cache
def _jitted(ls, sgnK):
    return jax.jit(lambda nu, chi: hyperspherical(ls, nu, chi, sgnK))


def _errors(got, ref, floor=1e-6):
    """Worst relative error where |ref| > floor * max|ref_l| (per row), worst absolute error
    elsewhere."""
    scale = np.max(np.abs(ref), axis=1, keepdims=True)
    big = np.abs(ref) > floor * scale
    err = np.abs(got - ref)
    rel = np.max(np.where(big, err / np.where(big, np.abs(ref), 1.0), 0.0))
    return rel, np.max(np.where(big, 0.0, err)), scale


@pytest.mark.parametrize("sgnK", [-1, 1])
def test_matches_extended_precision_reference(sgnK):
    chi = np.linspace(0.0, 1.0, 301)
    f = _jitted(LS, sgnK)
    for nu in NUS:
        phi, dphi, d2phi = (np.asarray(o) for o in f(nu, jnp.asarray(chi)))
        assert np.all(np.isfinite(phi)) and np.all(np.isfinite(dphi)) and np.all(np.isfinite(d2phi))
        ref, dref = miller_reference(LS, nu, chi[1:], sgnK)
        rel, ab, _ = _errors(phi[:, 1:], ref)
        assert rel < 1e-8 and ab < 1e-12, (nu, rel, ab)
        rel, ab, dscale = _errors(dphi[:, 1:], dref)
        assert rel < 1e-8 and np.all(ab < 1e-12 * np.maximum(dscale, 1.0)), (nu, rel, ab)
        # chi = 0: Phi_l = dPhi_l = 0 for l >= 2
        assert np.all(phi[:, 0] == 0.0) and np.all(dphi[:, 0] == 0.0)
        if sgnK == 1:  # closed: exactly 0 at l >= nu
            unphys = np.asarray(LS) >= nu
            assert np.all(phi[unphys] == 0.0) and np.all(dphi[unphys] == 0.0) and np.all(d2phi[unphys] == 0.0)
            assert np.all(np.any(phi[~unphys] != 0.0, axis=1))
    if sgnK == -1:  # open, large chi: far above the turning point the two solutions of the
        # recurrence differ by only tanh^2(chi/2) per step (the margin of the recurrences)
        chi = np.linspace(1.0, 3.0, 101)
        for nu in (0.01, 2.0, 57.3):
            phi, dphi, _ = (np.asarray(o) for o in f(nu, jnp.asarray(chi)))
            ref, dref = miller_reference(LS, nu, chi, sgnK)
            for got, want in ((phi, ref), (dphi, dref)):
                rel, ab, scale = _errors(got, want)
                assert rel < 1e-8 and np.all(ab < 1e-12 * np.maximum(scale, 1.0)), (nu, rel, ab)


#: mpmath 1.3 (mp.dps = 50), with c_l = prod_{k<=l} sqrt(nu^2 - sgnK k^2) / (2l+1)!!:
#: open   Phi_l = c_l Gamma(l+3/2) 2^(l+1/2) Re legenp(-1/2 + i nu, -l-1/2, cosh chi, type=3) / sqrt(sinh chi),
#: closed Phi_l = c_l Gamma(l+3/2) 2^(l+1/2) legenp(nu - 1/2, -l-1/2, cos chi, type=2) / sqrt(sin chi).
#: Corners: closed with non-integer nu, the last l below nu, near chi = pi/2 (the evanescent band
#: [nu S, nu] is thin and the ratio recurrence above nu does not converge there), and open at
#: large chi with l >> nu S.
MPMATH = {
    (1, 57.3, 56): ([1.0, 1.3, 1.45, 1.55, 1.5697963, np.pi / 2], [
        5.139849829270685e-06, 0.008279374721900089, 0.035707890029079654, 0.040153811275022835,
        0.03710871535002372, 0.03691916517712504]),
    (1, 57.3, 57): ([1.0, 1.3, 1.45, 1.55, 1.5697963, np.pi / 2], [
        4.0194188175953847e-07, 0.0014223835448985273, 0.011856138811572823, 0.028318918730759444,
        0.032438267401885205, 0.03265407698298649]),
    (1, 400.5, 399): ([1.5, 1.53, 1.55, 1.56, 1.565, 1.5695, 1.5705, np.pi / 2], [
        0.00596291309327161, 0.009172986584258646, 0.00919669168919818, 0.008239923364871261,
        0.007517955550683326, 0.006740561206420592, 0.006552559088286242, 0.00649583643687229]),
    (1, 400.5, 400): ([1.5, 1.53, 1.55, 1.56, 1.565, 1.5695, 1.5705, np.pi / 2], [
        0.0019126779469195176, 0.004546985636966265, 0.006924902625481135, 0.008205409343538209,
        0.008853506647063294, 0.009438073312411348, 0.009568024666717183, 0.009606534187465694]),
    (-1, 0.01, 2): ([0.5, 1.2, 2.0, 3.0], [
        0.030880413888815388, 0.12634051883438552, 0.18531566759333348, 0.15346172407535877]),
    (-1, 0.01, 10): ([0.5, 1.2, 2.0, 3.0], [
        2.0323671573497285e-07, 0.00045118856530514025, 0.011189462409006532, 0.03929355045472117]),
    (-1, 2.0, 50): ([0.5, 1.2, 2.0, 3.0], [
        2.127047218404203e-31, 2.017473803094972e-14, 5.518773311220764e-07, 0.0016028983587388869]),
}


def test_hard_corners_against_mpmath():
    for sgnK in (-1, 1):
        ls = tuple(sorted({l for (s, _, l) in MPMATH if s == sgnK}))
        for (s, nu, l), (chi, want) in MPMATH.items():
            if s == sgnK:  # (chi padded to one length: one compilation)
                got = np.asarray(_jitted(ls, sgnK)(nu, jnp.asarray(np.pad(chi, (0, 8 - len(chi)), mode="edge")))[0])
                np.testing.assert_allclose(got[ls.index(l), : len(chi)], want, rtol=1e-10, atol=0, err_msg=str((s, nu, l)))


@pytest.mark.parametrize("sgnK", [-1, 1])
def test_flat_limit(sgnK):
    """Phi_l -> j_l(nu chi) for chi -> 0 at fixed nu chi. The curvature corrections are
    ~ chi^2/6 in amplitude and ~ l^2 nu chi / (6 nu^2) in phase, so nu chi up to 3000 with l up
    to 3000 needs nu ~ 1e8 for 1e-6 (at nu = 1e5 the phase shift at l = 3000 is ~0.5 rad)."""
    ls = (2, 10, 100, 1000, 3000)
    nu = 1e8
    xx = np.linspace(0.0, 3000.0, 1201)
    phi, dphi, _ = (np.asarray(o) for o in _jitted(ls, sgnK)(nu, jnp.asarray(xx / nu)))
    for i, l in enumerate(ls):
        j, dj = spherical_jn(l, xx), spherical_jn(l, xx, derivative=True)
        assert np.max(np.abs(phi[i] - j)) < 1e-6 * np.max(np.abs(j)), l
        assert np.max(np.abs(dphi[i] / nu - dj)) < 1e-6 * np.max(np.abs(dj)), l


@pytest.mark.parametrize("sgnK", [-1, 1])
def test_small_chi_series_and_normalisation(sgnK):
    """Phi_l = c_l chi^l (1 + b_l chi^2 + ...), c_l = prod_{k<=l} a_k / (2l+1)!!,
    b_l = (sgnK l (l+3) / 3 - nu^2 + sgnK) / (4l + 6), on both sides of the series switch
    (chi = 1e-100) and where the recurrence is in use; Phi_2'' -> 2 c_2 at chi -> 0."""
    ls = (2, 3, 10)
    nu = 57.3
    chi = np.array([0.0, 1e-300, 1e-120, 1e-90, 1e-30, 1e-8, 1e-6])
    phi, dphi, d2phi = (np.asarray(o) for o in _jitted(ls, sgnK)(nu, jnp.asarray(chi)))
    for i, l in enumerate(ls):
        k = np.arange(1, l + 1)
        c = np.exp(np.sum(0.5 * np.log(nu**2 - sgnK * k**2) - np.log(2 * k + 1.0)))
        b = (sgnK * l * (l + 3) / 3 - nu**2 + sgnK) / (4 * l + 6)
        with np.errstate(under="ignore"):
            ser = c * chi**l * (1 + b * chi**2)
            dser = c * (l * chi ** (l - 1) + (l + 2) * b * chi ** (l + 1))
        np.testing.assert_allclose(phi[i], ser, rtol=1e-12, atol=0)
        np.testing.assert_allclose(dphi[i], dser, rtol=1e-12, atol=0)
        if l == 2:
            np.testing.assert_allclose(d2phi[i], 2 * c * (1 + 6 * b * chi**2), rtol=1e-12)
        else:
            assert np.all(np.abs(d2phi[i, :4]) < 1e-80)


@pytest.mark.parametrize("sgnK", [-1, 1])
def test_ode_and_chi_derivatives_by_finite_differences(sgnK):
    """dphi, d2phi match 7-point finite differences of phi, and phi solves
    Phi'' + 2 cot_K Phi' + (nu^2 - sgnK - l(l+1)/S^2) Phi = 0 (with the returned and with the
    finite-difference derivatives) to 1e-8 of kappa^2 max|Phi_l|, kappa^2 = nu^2 + l(l+1)/S^2 (the
    size of the terms), where |Phi_l| > 1e-6 max|Phi_l|. Exact dyadic stencils, step
    ~0.05 / kappa per multipole (truncation and rounding both < 1e-9)."""
    f = _jitted(LS, sgnK)
    chi = np.arange(3, 129) / 128.0
    S = np.sinh(chi) if sgnK == -1 else np.sin(chi)
    cot = (np.cosh(chi) if sgnK == -1 else np.cos(chi)) / S
    L = np.asarray(LS, dtype=float)[:, None]
    n_checked = 0
    for nu in (10.0, 400.0, 4000.0):
        phi, dphi, d2 = (np.asarray(o) for o in f(nu, jnp.asarray(chi)))
        kappa2 = nu**2 + L * (L + 1) / S**2
        top = np.max(np.abs(phi), axis=1, keepdims=True)
        big = np.abs(phi) > 1e-6 * top
        scale = kappa2 * top
        res = d2 + 2 * cot * dphi + (nu**2 - sgnK - L * (L + 1) / S**2) * phi
        assert np.all((np.abs(res) <= 1e-8 * scale)[big]), nu
        for i in np.flatnonzero(big.any(axis=1)):
            h = 2.0 ** np.floor(np.log2(0.08 / np.sqrt(np.max(kappa2[i][big[i]]))))
            grid = jnp.asarray((chi[None, :] + h * np.arange(-3, 4)[:, None]).ravel())
            p = np.asarray(f(nu, grid)[0][i]).reshape(7, -1)
            fd1 = (-p[0] + 9 * p[1] - 45 * p[2] + 45 * p[4] - 9 * p[5] + p[6]) / (60 * h)
            fd2 = (2 * p[0] - 27 * p[1] + 270 * p[2] - 490 * p[3] + 270 * p[4] - 27 * p[5] + 2 * p[6]) / (180 * h * h)
            res = fd2 + 2 * cot * fd1 + (nu**2 - sgnK - L[i] * (L[i] + 1) / S**2) * phi[i]
            b = big[i]
            assert np.max(np.abs(res[b]) / scale[i][b]) <= 1e-8, (nu, LS[i])
            assert np.max(np.abs(fd1 - dphi[i])[b] / np.sqrt(kappa2[i][b])) <= 1e-8 * top[i, 0], (nu, LS[i])
            assert np.max(np.abs(fd2 - d2[i])[b] / scale[i][b]) <= 1e-8, (nu, LS[i])
            n_checked += 1
    assert n_checked >= 9


@pytest.mark.parametrize("sgnK", [-1, 1])
def test_gradients_match_finite_differences(sgnK):
    ls = (2, 3, 10, 50, 300)
    chi = jnp.linspace(0.0, 1.0, 41)
    rng = np.random.default_rng(1)
    w = [jnp.asarray(rng.normal(size=(len(ls), chi.size))) for _ in range(3)]

    def columns(nu, chi):
        phi, dphi, d2phi = hyperspherical(ls, nu, chi, sgnK)
        return jnp.sum(w[0] * phi + w[1] * dphi / nu + w[2] * d2phi / nu**2, axis=0)

    def loss(nu, chi):
        return jnp.sum(columns(nu, chi))

    @jax.jit
    def grads(nu, chi):  # reverse mode, and forward mode in nu
        return jax.grad(loss, argnums=(0, 1))(nu, chi), jax.jvp(loss, (nu, chi), (1.0, jnp.zeros_like(chi)))[1]

    cols = jax.jit(columns)
    for nu in (57.3, 400.0):
        (g_nu, g_chi), t_nu = (np.asarray(g) for g in grads(nu, chi)[0]), float(grads(nu, chi)[1])
        assert np.all(np.isfinite(g_chi)) and np.isfinite(g_nu)
        h = 1e-4
        fd_nu = (float(np.sum(cols(nu + h, chi))) - float(np.sum(cols(nu - h, chi)))) / (2 * h)
        assert abs(g_nu - fd_nu) < 1e-6 * abs(fd_nu), (nu, g_nu, fd_nu)
        hc = 1e-4 / nu
        fd_chi = (np.asarray(cols(nu, chi + hc)) - np.asarray(cols(nu, chi - hc))) / (2 * hc)
        c0, c1, c2 = (float(cols(nu, chi.at[0].set(t * hc))[0]) for t in (0, 1, 2))
        fd_chi[0] = (-3 * c0 + 4 * c1 - c2) / (2 * hc)  # one-sided at chi = 0
        assert np.all(np.abs(g_chi - fd_chi) <= 1e-6 * np.max(np.abs(fd_chi))), (nu, np.max(np.abs(g_chi - fd_chi)))
        big = np.abs(fd_chi) > 1e-2 * np.max(np.abs(fd_chi))
        assert np.max(np.abs(g_chi - fd_chi)[big] / np.abs(fd_chi[big])) < 1e-6
        assert abs(t_nu - g_nu) < 1e-10 * abs(g_nu)  # forward mode agrees with reverse mode


def test_jit_vmap_shapes_and_no_nan():
    ls = np.array([2, 5, 17, 400])
    chi = jnp.linspace(0.0, 1.0, 33)
    nus = jnp.array([0.01, 2.5, 30.0, 2e4])

    @jax.jit
    def open_(nus, chi):  # vmap over nu, plain call, vmap over chi batches
        outs = jax.vmap(lambda nu: hyperspherical(ls, nu, chi, -1))(nus)
        batched = jax.vmap(lambda c: hyperspherical(ls, nus[2], c, -1)[0])(chi.reshape(3, 11))
        return outs, hyperspherical(ls, nus[2], chi, -1)[0], batched

    outs, single, batched = open_(nus, chi)
    for o in outs:
        assert o.shape == (4, 4, 33) and bool(jnp.all(jnp.isfinite(o)))
    np.testing.assert_allclose(np.asarray(outs[0][2]), np.asarray(single), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(batched).transpose(1, 0, 2).reshape(4, 33), np.asarray(single), rtol=1e-12, atol=1e-15)

    def total(nus, chi):  # closed: includes l >= nu (zeros), nu < 1, and chi = 0
        return jnp.sum(jax.vmap(lambda nu: sum(jnp.sum(o) for o in hyperspherical(ls, nu, chi, 1)))(nus))

    value, grads = jax.jit(jax.value_and_grad(total, argnums=(0, 1)))(nus, chi)
    assert grads[0].shape == (4,) and grads[1].shape == (33,)
    assert bool(jnp.isfinite(value)) and all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    with pytest.raises(ValueError):
        hyperspherical((1, 2), 3.0, chi, -1)
    with pytest.raises(ValueError):
        hyperspherical((2, 3), 3.0, chi, 0)


def test_reverse_mode_memory_does_not_scale_with_steps():
    """jax.grad with 3000 multipoles x 1000 chi: the compiled program's temporaries are the ratio
    array and its nu-tangent (2 x L_top x n_chi doubles), not per-step residuals."""
    ls = tuple(range(2, 3001, 20))
    chi = jnp.linspace(0.0, 1.2, 1000)
    w = jnp.ones((len(ls), 1000))
    g = jax.jit(jax.grad(lambda nu, chi: jnp.sum(w * hyperspherical(ls, nu, chi, -1)[0]), argnums=(0, 1)))
    mem = g.lower(3000.0, chi).compile().memory_analysis()
    if mem is None:
        pytest.skip("no memory analysis on this backend")
    assert mem.temp_size_in_bytes < 3 * hyperspherical_l_top(ls[-1]) * 1000 * 8, mem.temp_size_in_bytes
