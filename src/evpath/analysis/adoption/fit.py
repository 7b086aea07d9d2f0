"""Fit of an adoption curve (logistic or Bass) to a sales-share history."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from evpath.analysis.adoption.curves import (
    BOUNDS,
    MODELS,
    ModelName,
    curve,
    free_names,
    inverse,
    natural,
)
from evpath.analysis.adoption.shares import Kind, check_choice, share_history
from evpath.errors import InputError

Seed = int | Sequence[int] | np.random.Generator

MIN_POINTS = 5
"""Fewest years with a non-zero share needed to fit a curve."""
MIN_PEAK = 0.005
"""Highest observed share [fraction] must reach at least this to fit a curve."""
MAX_RELATIVE_ERROR = 1.0
"""Largest standard error of a fitted rate or saturation, relative to its value, for the
curve to count as determined by the data."""
MAX_LN_ERROR = float(np.log(100.0))
"""Largest standard error of the Bass ln p (p known to within a factor of 100)."""
N_DRAWS = 2000
"""Default number of parameter draws."""


@dataclass(frozen=True, eq=False)
class AdoptionFit:
    """A fitted adoption curve of one region's sales share.

    Attributes
    ----------
    model : {"logistic", "bass"}
        Curve form (see the module docstring).
    region, kind : str
        IEA region and share kind (``EV``, ``BEV`` or ``PHEV``).
    params : dict of str to float
        Every parameter of the curve: logistic ``r`` [1/yr], ``t0`` [yr], ``K`` [fraction];
        Bass ``p`` [1/yr], ``q`` [1/yr], ``K`` [fraction], ``ts`` [yr].
    free : tuple of str
        Names of the fitted parameters, in the order of ``cov``; the others were fixed.
        The Bass ``p`` is fitted (and drawn) as ``ln_p`` = ln p, so that it stays positive
        and its uncertainty, often over orders of magnitude, is symmetric.
    cov : ndarray (len(free), len(free))
        Covariance of the fitted parameters (scaled by the residual variance).
    r2 : float [dimensionless]
        Coefficient of determination on the fitted points.
    rmse : float [fraction]
        Root-mean-square residual of the share.
    n_points : int
        Number of years fitted.
    history : DataArray (year) [fraction]
        The observed shares that were fitted.
    """

    model: ModelName
    region: str
    kind: str
    params: dict[str, float]
    free: tuple[str, ...]
    cov: NDArray[np.float64]
    r2: float
    rmse: float
    n_points: int
    history: xr.DataArray = field(repr=False)

    @property
    def stderr(self) -> dict[str, float]:
        """Standard error of each fitted parameter (keys as in ``free``)."""
        return dict(zip(self.free, np.sqrt(np.diag(self.cov)).tolist(), strict=True))

    def predict(self, years: ArrayLike, draws: xr.Dataset | None = None) -> xr.DataArray:
        """Share of sales on the fitted curve.

        Parameters
        ----------
        years : array-like (year) [yr]
            Calendar years (fractional years allowed).
        draws : Dataset (draw), optional
            Parameter draws from :meth:`sample`; without them the point estimate is used.

        Returns
        -------
        DataArray (year) or (draw, year) [fraction]
        """
        t = xr.DataArray(np.atleast_1d(np.asarray(years, dtype=float)), dims="year")
        t = t.assign_coords(year=t.values)
        params = self._params(draws)
        out = xr.apply_ufunc(
            lambda tt, *vals: curve(self.model, tt, dict(zip(params, vals, strict=True))),
            t,
            *params.values(),
        )
        out.attrs.update(units="fraction", region=self.region, kind=self.kind)
        return out.rename("share").transpose(..., "year")

    def year_reaching(
        self, level: ArrayLike, draws: xr.Dataset | None = None
    ) -> float | xr.DataArray:
        """Fractional calendar year at which the fitted curve reaches ``level``.

        Analytic inverse of the curve: logistic t = t0 − ln(K/s − 1)/r; Bass
        t = ts − ln((1 − x)/(1 + x q/p))/(p + q) with x = s/K.

        Parameters
        ----------
        level : float or array-like (level) [fraction]
            Share of sales.
        draws : Dataset (draw), optional
            Parameter draws from :meth:`sample`.

        Returns
        -------
        float, or DataArray (level) / (draw) / (draw, level) [yr]
            ``inf`` where the curve never reaches the level (level ≥ K).
        """
        scalar = np.ndim(level) == 0 and draws is None
        lv = xr.DataArray(np.atleast_1d(np.asarray(level, dtype=float)), dims="level")
        lv = lv.assign_coords(level=lv.values)
        params = self._params(draws)
        out = xr.apply_ufunc(
            lambda x, *vals: inverse(self.model, x, dict(zip(params, vals, strict=True))),
            lv,
            *params.values(),
        )
        if scalar:
            return float(out.item())
        if np.ndim(level) == 0:
            out = out.squeeze("level", drop=True)
        out.attrs["units"] = "yr"
        return out

    def sample(self, n: int = N_DRAWS, seed: Seed = 0) -> xr.Dataset:
        """Parameter draws for uncertainty: multivariate normal on the covariance.

        Draws are clipped to the valid range of each parameter (rates positive, ``K`` in
        (0, 1]); the Bass ``p`` is drawn as ln p. Fixed parameters are repeated.

        Parameters
        ----------
        n : int
            Number of draws.
        seed : int or numpy Generator
            Random seed, for reproducible intervals.

        Returns
        -------
        Dataset (draw)
            One variable per parameter.
        """
        if n < 1:
            msg = f"n: got {n}; allowed: a positive number of draws"
            raise InputError(msg)
        rng = np.random.default_rng(seed)
        fitted = (
            {**self.params, "ln_p": np.log(self.params["p"])} if "p" in self.params else self.params
        )
        mean = np.array([fitted[k] for k in self.free])
        values = rng.multivariate_normal(mean, self.cov, size=n, method="eigh")
        lo = np.array([BOUNDS[k][0] for k in self.free])
        hi = np.array([BOUNDS[k][1] for k in self.free])
        values = np.clip(values, lo, hi)
        drawn = natural({k: values[:, i] for i, k in enumerate(self.free)})
        data = {
            k: ("draw", np.asarray(drawn[k]) if k in drawn else np.full(n, v))
            for k, v in self.params.items()
        }
        return xr.Dataset(data, coords={"draw": np.arange(n)})

    def _params(self, draws: xr.Dataset | None) -> dict[str, xr.DataArray | float]:
        if draws is None:
            return dict(self.params)
        return {k: draws[k] for k in self.params}


def fit_adoption(
    history: xr.DataArray, model: ModelName = "logistic", *, fit_saturation: bool = False
) -> AdoptionFit:
    """Fit an adoption curve to a share history by non-linear least squares.

    Residuals are in share units (not logit), so the years with shares of several percent
    and more, where the milestones of interest lie, carry the fit; the tiny early shares
    (and their relative rounding errors) barely move it.

    Parameters
    ----------
    history : DataArray (year) [fraction]
        Observed shares, e.g. from :func:`share_history`; ``attrs`` ``region`` and
        ``kind`` are carried into the fit. NaN years are dropped.
    model : {"logistic", "bass"}
        Curve form (see the module docstring).
    fit_saturation : bool
        Fit the saturation ``K`` in (0, 1]; by default ``K`` = 1 (every new car electric
        in the end).

    Returns
    -------
    AdoptionFit

    Raises
    ------
    InputError
        Fewer than ``MIN_POINTS`` years with a non-zero share, a peak share below
        ``MIN_PEAK``, a fit that does not converge, or a curve the data cannot determine
        (a rate or saturation with a standard error above ``MAX_RELATIVE_ERROR`` times its
        value, or ln p with one above ``MAX_LN_ERROR``). The message names the region,
        the usable points and what is needed.
    """
    check_choice("model", model, MODELS)
    region = str(history.attrs.get("region", history.name or "history"))
    kind = str(history.attrs.get("kind", "EV"))
    hist = history.dropna("year").sortby("year")
    t = hist["year"].to_numpy().astype(float)
    s = hist.to_numpy().astype(float)
    positive = s > 0
    n_used, peak = int(positive.sum()), float(s.max()) if s.size else 0.0
    if n_used < MIN_POINTS or peak < MIN_PEAK:
        msg = (
            f"{region} ({kind} share): too little history to fit a {model} curve: "
            f"{n_used} year(s) with a non-zero share, peak share {peak:.2%}; needs at least "
            f"{MIN_POINTS} years with a non-zero share and a peak of at least {MIN_PEAK:.1%}"
        )
        raise InputError(msg)

    free = free_names(model, fit_saturation)
    fixed: dict[str, float] = {} if fit_saturation else {"K": 1.0}
    if model == "bass":
        fixed["ts"] = float(t[positive][0] - 1.0)
    p0 = _initial_guess(model, t, s, fixed)
    if fit_saturation:
        p0.append(min(max(peak * 1.2, 0.5), 1.0))

    def f(tt: NDArray[np.float64], *vals: float) -> NDArray[np.float64]:
        return curve(model, tt, natural({**fixed, **dict(zip(free, vals, strict=True))}))

    lo = [BOUNDS[k][0] for k in free]
    hi = [BOUNDS[k][1] for k in free]
    p0 = np.clip(p0, np.nextafter(lo, np.inf), np.nextafter(hi, -np.inf)).tolist()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            popt, pcov = curve_fit(f, t, s, p0=p0, bounds=(lo, hi), x_scale="jac", max_nfev=5000)
    except (RuntimeError, OptimizeWarning, ValueError) as exc:
        msg = (
            f"{region} ({kind} share): the {model} curve could not be fitted to "
            f"{n_used} years with a non-zero share (peak {peak:.2%}): {exc}; needs a "
            f"history that rises along an S-curve, or the logistic model"
        )
        raise InputError(msg) from None
    if not np.all(np.isfinite(pcov)):
        msg = (
            f"{region} ({kind} share): the {model} curve is not determined by "
            f"{n_used} years with a non-zero share (peak {peak:.2%}); the parameter "
            f"covariance is infinite; needs a history that bends towards saturation"
        )
        raise InputError(msg)
    stderr = np.sqrt(np.diag(pcov))
    vague = [
        f"{k}={v:.3g} ± {e:.2g}"
        for k, v, e in zip(free, popt, stderr, strict=True)
        if (k == "ln_p" and e > MAX_LN_ERROR)
        or (k in ("r", "q", "K") and e > MAX_RELATIVE_ERROR * v)
    ]
    if vague:
        hint = (
            "fix the saturation K at 1 (the default)"
            if fit_saturation
            else "a history that bends towards saturation"
        )
        msg = (
            f"{region} ({kind} share): the {model} curve is not determined by "
            f"{n_used} years with a non-zero share (peak {peak:.2%}): standard error "
            f"larger than the value for {', '.join(vague)}; needs {hint}"
        )
        raise InputError(msg)
    residual = s - f(t, *popt)
    ss_res = float(residual @ residual)
    ss_tot = float(((s - s.mean()) ** 2).sum())
    params = natural({**dict(zip(free, popt.tolist(), strict=True)), **fixed})
    order = ("r", "t0", "p", "q", "K", "ts")
    return AdoptionFit(
        model=model,
        region=region,
        kind=kind,
        params={k: float(params[k]) for k in order if k in params},
        free=free,
        cov=pcov,
        r2=1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        rmse=float(np.sqrt(ss_res / s.size)),
        n_points=int(s.size),
        history=hist,
    )


def _initial_guess(
    model: str, t: NDArray[np.float64], s: NDArray[np.float64], fixed: dict[str, float]
) -> list[float]:
    """Starting point from a straight line through logit(share) against year."""
    inside = (s > 0) & (s < 0.99)
    logit = np.log(s[inside] / (1.0 - s[inside]))
    slope, intercept = np.polyfit(t[inside], logit, 1)
    if slope <= 0.01:
        slope, intercept = 0.1, -0.1 * (t[-1] + 20.0)
    if model == "logistic":
        return [float(slope), float(-intercept / slope)]
    first = float(s[s > 0][0])
    return [float(np.log(max(first, 1e-6))), float(slope)]


def fit_region(
    region: str, kind: Kind = "EV", model: ModelName = "logistic", *, fit_saturation: bool = False
) -> AdoptionFit:
    """Fit an adoption curve to one IEA region's share history.

    Shorthand for ``fit_adoption(share_history(region, kind), model, ...)``; see both.
    """
    return fit_adoption(share_history(region, kind), model, fit_saturation=fit_saturation)
