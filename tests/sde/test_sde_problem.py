"""Construction and validation of SDE objects and solver applicability."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import sde_models as models

from stochdepth.sde import SDE, EulerMaruyama, Milstein, affine_sde


def _one(t, x, out):
    out[0] = 1.0


def _vec(t, x, out):
    for i in range(x.shape[0]):
        out[i] = 1.0


def test_plain_python_functions_are_jitted():
    sde = SDE(_vec, _vec, 3, name="v")
    assert numba.extending.is_jitted(sde.drift) and numba.extending.is_jitted(sde.diffusion)
    assert sde.noise_dim == 3 and sde.diffusion_shape == (3,)
    assert "dim=3" in repr(sde)


def test_already_jitted_function_is_kept():
    f = numba.njit(_vec)
    sde = SDE(None, f, 2)
    assert sde.diffusion is f and sde.drift is None


@pytest.mark.parametrize(
    ("noise", "dim", "noise_dim", "shape"),
    [("diagonal", 3, 3, (3,)), ("scalar", 3, 1, (3,)), ("isotropic", 3, 3, (1,)), ("general", 3, 2, (3, 2))],
)
def test_noise_shapes(noise, dim, noise_dim, shape):
    def general(t, x, out):
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = 1.0

    fn = general if noise == "general" else (_one if noise == "isotropic" else _vec)
    sde = SDE(None, fn, dim, noise=noise, noise_dim=noise_dim if noise == "general" else None)
    assert sde.noise_dim == noise_dim and sde.diffusion_shape == shape


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"dim": 0}, ValueError, "dim must be an int >= 1"),
        ({"dim": 2.0}, TypeError, "dim must be an int"),
        ({"noise": "colored"}, ValueError, "noise must be one of"),
        ({"noise": 3}, TypeError, "noise must be a str"),
        ({"noise": "general"}, ValueError, "noise_dim is required"),
        ({"noise": "diagonal", "noise_dim": 1}, ValueError, "noise_dim must be 2"),
        ({"noise": "scalar", "noise_dim": 2}, ValueError, "noise_dim must be 1"),
        ({"noise": "isotropic", "diffusion_derivative": _vec}, ValueError, "not commutative"),
        ({"name": 1}, TypeError, "name must be a str"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = {"dim": 2, **kwargs}
    dim = args.pop("dim")
    with pytest.raises(exc, match=match):
        SDE(None, _vec, dim, **args)


def test_non_callable_and_uncompilable_functions():
    with pytest.raises(TypeError, match="diffusion must be"):
        SDE(None, 3.0, 1)
    with pytest.raises(TypeError, match="diffusion must be"):
        SDE(None, None, 1)

    def bad(t, x, out):
        out[0] = object()  # not supported by numba in nopython mode

    with pytest.raises(TypeError, match="drift could not be compiled by numba"):
        SDE(bad, _vec, 1)


def test_milstein_applicability():
    em, mil = EulerMaruyama(), Milstein()
    # diagonal without derivative: commutativity not declared
    plain = SDE(None, _vec, 2)
    assert not plain.commutative
    em.check(plain)
    with pytest.raises(ValueError, match="diffusion_derivative"):
        mil.check(plain)
    # isotropic in dim > 1 is never commutative
    iso = SDE(None, _one, 3, noise="isotropic")
    with pytest.raises(ValueError, match=r"isotropic.*not commutative"):
        mil.check(iso)
    # general noise
    with pytest.raises(ValueError, match="general"):
        mil.check(models.general_ou())
    # commutative ones
    for sde in (models.gbm_diagonal(), models.gbm_augmented(1.0, 0.5), models.isotropic_1d()):
        assert sde.commutative
        mil.check(sde)
    with pytest.raises(TypeError, match="sde must be an SDE"):
        em.check("sde")


def test_affine_sde_coefficients():
    sde = affine_sde(
        [[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5], diffusion_offset=[0.1, 0.2], diffusion_scale=[1.0, 2.0]
    )
    x = np.array([1.0, -1.0])
    b, s, ds = np.empty(2), np.empty(2), np.empty(2)
    sde.drift(0.0, x, b)
    sde.diffusion(0.0, x, s)
    sde.diffusion_derivative(0.0, x, ds)
    np.testing.assert_array_equal(b, [1 - 2 + 0.5, 3 - 4 - 0.5])
    np.testing.assert_array_equal(s, [0.1 + 1.0, 0.2 - 2.0])
    np.testing.assert_array_equal(ds, [1.0, 2.0])
    sc = affine_sde(
        None, None, dim=2, diffusion_offset=[0.1, 0.2], diffusion_scale=[1.0, 2.0], noise="scalar"
    )
    assert sc.drift is None
    sc.diffusion_derivative(0.0, x, ds)
    # (s . grad) s with s_i = c_i + d_i x_i: component i is d_i s_i
    np.testing.assert_array_equal(ds, [1.0 * 1.1, 2.0 * (0.2 - 2.0)])


def test_affine_sde_bad_input():
    with pytest.raises(ValueError, match="dim is required"):
        affine_sde()
    with pytest.raises(ValueError, match=r"drift_matrix must have shape \(1, 1\), got \(1, 2\)"):
        affine_sde([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="required"):
        affine_sde([[1.0]], noise="general")
    with pytest.raises(ValueError, match="diffusion_scale must be None"):
        affine_sde([[1.0]], diffusion_offset=[[1.0]], diffusion_scale=[1.0], noise="general")
    with pytest.raises(ValueError, match="noise must be one of"):
        affine_sde([[1.0]], noise="isotropic")
    with pytest.raises(ValueError, match="finite"):
        affine_sde([[np.nan]])


def test_probe_detects_bad_writes():
    def too_far(t, x, out):
        for i in range(x.shape[0] + 1):
            out[i] = 1.0

    def partial(t, x, out):
        out[0, 0] = 1.0

    from stochdepth.sde import simulate

    with pytest.raises(ValueError, match="writes outside out"):
        simulate(SDE(None, too_far, 2), EulerMaruyama(), 1.0, 2, [0.0, 0.0], n_paths=2, rng=0)
    with pytest.raises(ValueError, match="unwritten or NaN"):
        simulate(
            SDE(None, partial, 2, noise="general", noise_dim=2),
            EulerMaruyama(),
            1.0,
            2,
            [0, 0],
            n_paths=2,
            rng=0,
        )
