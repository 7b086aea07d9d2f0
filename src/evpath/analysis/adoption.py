"""Adoption curves of electric-car sales shares, milestone years and lags between regions.

The question behind this module is "how many years does one region trail another on the
road to electric car sales?". It answers it in three steps:

1. :func:`share_history` reads the electric share of new car sales of any IEA region or
   country (IEA Global EV Outlook 2025, ``category == 'Historical'``, ``mode == 'Cars'``).
2. :func:`fit_adoption` (or :func:`fit_region`) fits an S-curve to that history, a logistic
   or a Bass diffusion curve, and returns an :class:`AdoptionFit` with the parameters, their
   covariance and the fit quality.
3. :func:`milestones` and :func:`lag` turn fits into the year each share level is (or was)
   reached and the years one region trails another, with intervals from parameter draws.

Curves
------
Logistic (Fisher–Pry substitution), with saturation ``K`` (1 unless fitted)::

    s(t) = K / (1 + exp(−r (t − t0)))

Bass diffusion, cumulative adopters as a share of the buyer population::

    F(t) = K (1 − e^{−(p+q)(t−ts)}) / (1 + (q/p) e^{−(p+q)(t−ts)}),   t ≥ ts;  0 before

Reading the Bass curve as a *sales share*: a buyer who has switched to an electric car buys
electric again, so the share of new-car buyers who choose electric in year ``t`` is the
cumulative share of the buyer population that has switched, ``F(t)``, not the adoption rate
``dF/dt``. ``p`` [1/yr] is the rate of switching independent of others, ``q`` [1/yr] the
rate driven by those who already switched; with ``p → 0`` the curve becomes the logistic.
The data cannot tell ``p`` apart from the start year, so ``ts`` is fixed at the year before
the first year with a non-zero share (the year the market opens).

Years are calendar years; the curve value at year ``y`` is the share of sales in year ``y``.
"""

from __future__ import annotations

import difflib
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from evpath.data.registry import load_dataset
from evpath.errors import InputError

DATASET = "iea_gevo2025_ev_data"
KINDS = ("EV", "BEV", "PHEV")
MODELS = ("logistic", "bass")
Kind = Literal["EV", "BEV", "PHEV"]
ModelName = Literal["logistic", "bass"]
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
FULL_SHARE = 0.995
"""Share [fraction] that stands for "100 %" in milestone tables; curves saturating at 1
reach 1 only asymptotically, so the 100 % milestone is the year the curve reaches 99.5 %."""
LEVELS = (0.05, 0.10, 0.25, 0.50, 0.90, 1.0)
"""Default milestone share levels [fraction]."""
INTERVAL = 0.90
"""Default probability of the uncertainty intervals."""
N_DRAWS = 2000
"""Default number of parameter draws."""

_EV_POWERTRAINS = ("BEV", "PHEV", "FCEV")

# Valid parameter ranges: fitting bounds and clipping range of the draws.
_BOUNDS: dict[str, tuple[float, float]] = {
    "r": (1e-4, 5.0),
    "t0": (1950.0, 2300.0),
    "ln_p": (float(np.log(1e-9)), 0.0),
    "q": (0.0, 5.0),
    "K": (1e-4, 1.0),
}


# --------------------------------------------------------------------------- data


@cache
def _cars() -> pd.DataFrame:
    iea = load_dataset(DATASET)
    return iea[(iea["mode"] == "Cars") & (iea["category"] == "Historical")]


@cache
def regions() -> tuple[str, ...]:
    """Every region and country in the IEA file, sorted."""
    return tuple(sorted(load_dataset(DATASET)["region_country"].unique()))


def _check_region(region: str) -> None:
    known = regions()
    if region in known:
        return
    lower = {name.lower(): name for name in known}
    if region.lower() in lower:
        msg = f"unknown region {region!r}; did you mean {lower[region.lower()]!r}?"
        raise InputError(msg)
    close = difflib.get_close_matches(region, known, n=4, cutoff=0.5)
    hint = f"close matches: {', '.join(close)}" if close else f"available: {', '.join(known)}"
    msg = f"unknown region {region!r} in the IEA Global EV Outlook data; {hint}"
    raise InputError(msg)


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        msg = f"{name}: got {value!r}; allowed: one of {', '.join(allowed)}"
        raise InputError(msg)


def share_history(region: str, kind: Kind = "EV") -> xr.DataArray:
    """Observed share of electric cars in new car sales of one IEA region or country.

    Parameters
    ----------
    region : str
        IEA region or country name as spelt in the file ("Japan", "China", "Europe",
        "USA", "World", ...); see :func:`regions`.
    kind : {"EV", "BEV", "PHEV"}
        ``EV`` is the IEA's electric share (BEV + PHEV + FCEV). ``BEV`` and ``PHEV`` are
        derived as EV share × sales of the powertrain / EV sales, which equals sales of the
        powertrain / total car sales.

    Returns
    -------
    DataArray (year) [fraction]
        Years with a reported share only (no gaps filled); may be empty. ``attrs`` hold
        ``region``, ``kind`` and ``units``.

    Raises
    ------
    InputError
        Unknown region (the message lists close matches) or kind.
    """
    _check_choice("kind", kind, KINDS)
    _check_region(region)
    cars = _cars()
    cars = cars[cars["region_country"] == region]
    share = (
        cars[cars["parameter"] == "EV sales share"].groupby("year")["value"].sum().astype(float)
        / 100.0
    )
    if kind != "EV":
        sales = (
            cars[(cars["parameter"] == "EV sales") & cars["powertrain"].isin(_EV_POWERTRAINS)]
            .pivot_table(index="year", columns="powertrain", values="value", aggfunc="sum")
            .reindex(index=share.index, columns=list(_EV_POWERTRAINS))
        )
        part = sales[kind].fillna(0.0)
        total = sales.fillna(0.0).sum(axis=1)
        share = (share * part / total.where(total > 0)).where(sales.notna().any(axis=1))
    share = share.dropna().sort_index()
    return xr.DataArray(
        share.to_numpy(dtype=float),
        coords={"year": share.index.to_numpy(dtype=int)},
        dims="year",
        name="share",
        attrs={"region": region, "kind": kind, "units": "fraction"},
    )


# --------------------------------------------------------------------------- curves


def _logistic(t: ArrayLike, r: ArrayLike, t0: ArrayLike, K: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(K / (1.0 + np.exp(-np.asarray(r) * (np.asarray(t) - t0))), dtype=float)


def _logistic_inverse(
    level: ArrayLike, r: ArrayLike, t0: ArrayLike, K: ArrayLike
) -> NDArray[np.float64]:
    x = np.asarray(level, dtype=float) / np.asarray(K, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t0 - np.log(1.0 / x - 1.0) / r
    return np.asarray(np.where(x >= 1.0, np.inf, np.where(x <= 0.0, -np.inf, t)), dtype=float)


def _bass(
    t: ArrayLike, p: ArrayLike, q: ArrayLike, K: ArrayLike, ts: ArrayLike
) -> NDArray[np.float64]:
    elapsed = np.maximum(np.asarray(t, dtype=float) - ts, 0.0)
    decay = np.exp(-(np.asarray(p) + q) * elapsed)
    return np.asarray(K * (1.0 - decay) / (1.0 + (q / np.asarray(p)) * decay), dtype=float)


def _bass_inverse(
    level: ArrayLike, p: ArrayLike, q: ArrayLike, K: ArrayLike, ts: ArrayLike
) -> NDArray[np.float64]:
    x = np.asarray(level, dtype=float) / np.asarray(K, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ts - np.log((1.0 - x) / (1.0 + x * np.asarray(q) / p)) / (np.asarray(p) + q)
    return np.asarray(np.where(x >= 1.0, np.inf, np.where(x <= 0.0, ts, t)), dtype=float)


def _curve(model: str, t: ArrayLike, params: dict[str, ArrayLike]) -> NDArray[np.float64]:
    if model == "logistic":
        return _logistic(t, params["r"], params["t0"], params["K"])
    return _bass(t, params["p"], params["q"], params["K"], params["ts"])


def _inverse(model: str, level: ArrayLike, params: dict[str, ArrayLike]) -> NDArray[np.float64]:
    if model == "logistic":
        return _logistic_inverse(level, params["r"], params["t0"], params["K"])
    return _bass_inverse(level, params["p"], params["q"], params["K"], params["ts"])


def _natural(params: dict[str, float]) -> dict[str, float]:
    """Curve parameters from fitted ones: the Bass ``p`` is fitted as ``ln_p``."""
    out = dict(params)
    if "ln_p" in out:
        p = np.exp(out.pop("ln_p"))
        out["p"] = float(p) if np.ndim(p) == 0 else p
    return out


def _free_names(model: str, fit_saturation: bool) -> tuple[str, ...]:
    names = ("r", "t0") if model == "logistic" else ("ln_p", "q")
    return (*names, "K") if fit_saturation else names


# --------------------------------------------------------------------------- fit


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
            lambda tt, *vals: _curve(self.model, tt, dict(zip(params, vals, strict=True))),
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
            lambda x, *vals: _inverse(self.model, x, dict(zip(params, vals, strict=True))),
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
        natural = (
            {**self.params, "ln_p": np.log(self.params["p"])} if "p" in self.params else self.params
        )
        mean = np.array([natural[k] for k in self.free])
        values = rng.multivariate_normal(mean, self.cov, size=n, method="eigh")
        lo = np.array([_BOUNDS[k][0] for k in self.free])
        hi = np.array([_BOUNDS[k][1] for k in self.free])
        values = np.clip(values, lo, hi)
        drawn = _natural({k: values[:, i] for i, k in enumerate(self.free)})
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
    _check_choice("model", model, MODELS)
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

    free = _free_names(model, fit_saturation)
    fixed: dict[str, float] = {} if fit_saturation else {"K": 1.0}
    if model == "bass":
        fixed["ts"] = float(t[positive][0] - 1.0)
    p0 = _initial_guess(model, t, s, fixed)
    if fit_saturation:
        p0.append(min(max(peak * 1.2, 0.5), 1.0))

    def f(tt: NDArray[np.float64], *vals: float) -> NDArray[np.float64]:
        return _curve(model, tt, _natural({**fixed, **dict(zip(free, vals, strict=True))}))

    lo = [_BOUNDS[k][0] for k in free]
    hi = [_BOUNDS[k][1] for k in free]
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
    params = _natural({**dict(zip(free, popt.tolist(), strict=True)), **fixed})
    order = ("r", "t0", "p", "q", "K", "ts")
    return AdoptionFit(
        model=model,
        region=region,
        kind=kind,
        params={k: params[k] for k in order if k in params},
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


# --------------------------------------------------------------------------- milestones


def observed_crossing(history: xr.DataArray, level: float) -> float:
    """Fractional year at which an observed history first reaches ``level``.

    The first year whose share is at least ``level`` is ``Y``; the crossing is placed
    between the previous reported year and ``Y`` by linear interpolation of the share, so
    that ``ceil(crossing) == Y`` for consecutive years (the same convention as the fitted
    curves). If ``Y`` is the first reported year the crossing is ``Y``.

    Returns
    -------
    float [yr]
        NaN if the history never reaches the level.
    """
    years = history["year"].to_numpy().astype(float)
    s = history.to_numpy().astype(float)
    hit = np.flatnonzero(s >= level)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(years[0])
    frac = (level - s[i - 1]) / (s[i] - s[i - 1])
    return float(years[i - 1] + frac * (years[i] - years[i - 1]))


def crossing_draws(
    fit: AdoptionFit, level: float, n: int = N_DRAWS, seed: Seed = 0, *, use_history: bool = True
) -> tuple[xr.DataArray, str]:
    """Draws of the year ``fit``'s region reaches ``level``.

    Parameters
    ----------
    fit : AdoptionFit
    level : float [fraction]
    n : int
        Number of draws.
    seed : int or numpy Generator
    use_history : bool
        Consult the observed history: if it already reached the level, use the observed
        crossing (:func:`observed_crossing`, the same in every draw) rather than the curve;
        if not, the level is reached after the last observed year, so fitted crossings
        earlier than that year are moved to it (the curve runs ahead of the data, as for
        Europe's 2023–2024 plateau).

    Returns
    -------
    (DataArray (draw) [yr], basis)
        ``basis`` is ``"observed"`` or ``"fitted"``; ``inf`` draws never reach the level.
    """
    if use_history:
        seen = observed_crossing(fit.history, level)
        if np.isfinite(seen):
            return xr.DataArray(
                np.full(n, seen), dims="draw", coords={"draw": np.arange(n)}
            ), "observed"
    years = fit.year_reaching(level, fit.sample(n, seed))
    assert isinstance(years, xr.DataArray)
    if use_history and fit.history.size:
        years = np.maximum(years, float(fit.history["year"][-1]))
    return years, "fitted"


def fit_seed(fit: AdoptionFit, seed: int = 0) -> list[int]:
    """Seed of a fit's parameter draws: ``seed`` plus a stable code of region, kind, model.

    A region's draws are then the same whichever regions it is compared with and in
    whatever order, and the same for every level (milestone years stay ordered in each
    draw); two different regions get independent draws.
    """
    return [seed, zlib.crc32(f"{fit.region}|{fit.kind}|{fit.model}".encode())]


def _quantiles(values: xr.DataArray, interval: float) -> tuple[float, float, float]:
    """Median and central interval of draws; ±inf draws (never reached) count as extremes."""
    tail = (1.0 - interval) / 2.0
    big = 1e12
    v = np.nan_to_num(values.to_numpy().astype(float), nan=np.nan, posinf=big, neginf=-big)
    if np.all(np.isnan(v)):
        return float("nan"), float("nan"), float("nan")
    q = np.nanquantile(v, [0.5, tail, 1.0 - tail])
    q = np.where(q >= big / 10, np.inf, np.where(q <= -big / 10, -np.inf, q))
    return float(q[0]), float(q[1]), float(q[2])


def milestones(
    fits: Iterable[AdoptionFit],
    levels: Sequence[float] = LEVELS,
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Year each region reached, or on its fitted curve reaches, each share level.

    A level of 1 (100 %) is looked for as ``FULL_SHARE`` (99.5 %): a curve saturating at 1
    reaches 1 only asymptotically. A curve with a fitted ``K`` below the level never
    reaches it (``basis`` "never", years ``inf``).

    Parameters
    ----------
    fits : iterable of AdoptionFit
    levels : sequence of float [fraction]
    n_draws : int
        Parameter draws for the intervals of fitted years.
    seed : int
        Base seed of the draws (see :func:`fit_seed`).
    interval : float
        Probability of the interval (default 0.90: the 5th to 95th percentile).

    Returns
    -------
    DataFrame
        One row per region and level: ``region``, ``kind``, ``model``, ``level``,
        ``target`` (share looked for), ``basis`` ("observed", "fitted" or "never"),
        ``year`` (first calendar year with a share ≥ target; for fitted curves the year
        containing the median crossing, never before the year after the last observed
        one), ``year_low``/``year_high`` (the same for the interval bounds; missing where
        the bound is never), ``crossing`` (median fractional year),
        ``low``/``high`` (interval bounds [yr]; equal to ``crossing`` when observed),
        ``ahead_of_data`` (the fitted curve crossed the level by the last observed year
        although the data did not; its crossing is then moved to that year, see
        :func:`crossing_draws`, and ``year`` is the year after it).
    """
    rows = []
    for fit in fits:
        for level in levels:
            target = min(float(level), FULL_SHARE)
            draws, basis = crossing_draws(fit, target, n_draws, fit_seed(fit, seed))
            mid, low, high = _quantiles(draws, interval)
            hist = fit.history
            last = int(hist["year"][-1])
            point = float(fit.year_reaching(target))
            if basis == "observed":
                year = year_low = year_high = int(hist["year"][hist >= target][0])
            elif np.isfinite(point) and np.isfinite(mid):
                year, year_low = (max(int(np.ceil(x)), last + 1) for x in (mid, low))
                year_high = max(int(np.ceil(high)), last + 1) if np.isfinite(high) else None
            else:
                basis, year, year_low, year_high = "never", None, None, None
            rows.append(
                {
                    "region": fit.region,
                    "kind": fit.kind,
                    "model": fit.model,
                    "level": float(level),
                    "target": target,
                    "basis": basis,
                    "year": year,
                    "year_low": year_low,
                    "year_high": year_high,
                    "crossing": mid,
                    "low": low,
                    "high": high,
                    "ahead_of_data": basis == "fitted" and point <= last,
                }
            )
    table = pd.DataFrame(rows)
    for col in ("year", "year_low", "year_high"):
        table[col] = table[col].astype("Int64")
    return table


class Lag(NamedTuple):
    """Years region a trails region b at a share level (negative: a is ahead)."""

    median: float
    low: float
    high: float


def lag(
    fit_a: AdoptionFit,
    fit_b: AdoptionFit,
    level: float,
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
    use_history: bool = True,
) -> Lag:
    """Years region ``a`` reaches ``level`` after region ``b``.

    lag = crossing year of a − crossing year of b, computed on the parameter draws of the
    two fits (independent for different regions, see :func:`fit_seed`); observed
    crossings, where the history already reached the level, are the same in every draw
    (see :func:`crossing_draws`).

    Parameters
    ----------
    fit_a, fit_b : AdoptionFit
    level : float [fraction]
        Share level; 1.0 is looked for as ``FULL_SHARE``.
    n_draws : int
    seed : int
    interval : float
        Probability of the interval (default 0.90).
    use_history : bool
        Use observed crossings where available (default) or the fitted curves only.

    Returns
    -------
    Lag (median, low, high) [yr]
        ``inf`` where a never reaches the level in (part of) the draws; NaN if neither does.
    """
    target = min(float(level), FULL_SHARE)
    a, _ = crossing_draws(fit_a, target, n_draws, fit_seed(fit_a, seed), use_history=use_history)
    b, _ = crossing_draws(fit_b, target, n_draws, fit_seed(fit_b, seed), use_history=use_history)
    with np.errstate(invalid="ignore"):
        diff = a - b
    return Lag(*_quantiles(diff, interval))


def lag_table(
    fits: Sequence[AdoptionFit],
    reference: AdoptionFit | str,
    levels: Sequence[float] = (0.10, 0.25, 0.50),
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Lag of each region behind a reference region at several share levels.

    Parameters
    ----------
    fits : sequence of AdoptionFit
    reference : AdoptionFit or str
        The reference fit, or the region name of one of ``fits``.
    levels : sequence of float [fraction]
    n_draws, seed, interval
        As in :func:`lag`.

    Returns
    -------
    DataFrame
        ``region``, ``reference``, ``level``, ``median``, ``low``, ``high`` [yr];
        positive: the region trails the reference. The reference itself is left out.
    """
    if isinstance(reference, str):
        match = [f for f in fits if f.region == reference]
        if not match:
            msg = (
                f"reference: got {reference!r}; allowed: one of the compared regions "
                f"({', '.join(f.region for f in fits)})"
            )
            raise InputError(msg)
        reference = match[0]
    rows = [
        {
            "region": fit.region,
            "reference": reference.region,
            "level": float(level),
            **lag(fit, reference, level, n_draws=n_draws, seed=seed, interval=interval)._asdict(),
        }
        for fit in fits
        if fit is not reference and fit.region != reference.region
        for level in levels
    ]
    return pd.DataFrame(rows, columns=["region", "reference", "level", "median", "low", "high"])
