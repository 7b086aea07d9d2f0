"""The makers' scope: the makers' new cars in each market, each market's model run on
them, and per-car figures weighted over the markets.

In a market m the makers sell a share θ_m(t) of the market's new cars, split among the
makers by their sales there: both from the makers' sales in their data years (reported,
or their worldwide total less their reported markets, allocated by the scope file),
linear between data years, and after them from the scope file's path. The makers' mix
is the market's own or the scope file's mixes by year. A car on the road keeps its
market, so the stock, energy, emissions, batteries and metals of the makers' cars follow
from running the market's model on the makers' sales.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from evpath.core.contraction import dot
from evpath.core.dims import ELECTRIFIED, POWERTRAINS
from evpath.core.paths import interpolate_path
from evpath.core.tolerances import TARGET_TOLERANCE
from evpath.core.variables import annotate
from evpath.data.makers import WORLD, MakerHistory
from evpath.errors import InputError
from evpath.model.sales import path_through
from evpath.scenario.emissions import Target
from evpath.scenario.schema import Scenario
from evpath.scenario.scope import Makers, MakersMix, MakersShare

EXTENSIVE = (
    "sales",
    "stock",
    "outflow",
    "stock_by_cohort",
    "vehicle_km",
    "energy_use",
    "emissions",
    "maintenance_emissions",
    "end_of_life_emissions",
    "battery_demand",
    "battery_demand_by_chemistry",
    "battery_retired",
    "battery_retired_remaining",
)
"""Variables that count cars, energy, emissions or batteries: zero where a market lacks a
segment, cohort or chemistry that another market has."""

LEFT_OUT = ("average_age", "manufacturing_per_car")
"""Means by segment, undefined where a market lacks the segment: a scope run leaves them
out (each market's own run has them)."""


def allocated_sales(
    history: MakerHistory, makers: Makers, last_year: int
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Each maker's sales by market in its data years (maker, market, year) [vehicles/yr].

    A maker's data years are those up to ``last_year`` with a worldwide total (sales, or
    production where no sales total is reported); NaN in other years. Reported market
    figures are taken as they are; the worldwide total less them is allocated over the
    unreported markets: in the latest data year by ``makers.allocation`` (a single
    unreported market takes it all), in earlier years in proportion to the maker's sales
    there in its latest data year. Returns the table
    and its provenance (maker, market, year, vehicles, basis: reported / allocated).

    Raises
    ------
    InputError
        A maker without a worldwide total, reported markets above it, or a remainder
        with no allocation over the unreported markets.
    """
    markets = list(history.markets)
    years = history.sales.year.values[history.sales.year.values <= last_year]
    table = np.full((len(makers.groups), len(markets), len(years)), np.nan)
    rows: list[dict[str, object]] = []
    for i, maker in enumerate(makers.groups):
        world = history.sales.sel(maker=maker, market=WORLD, year=years, drop=True)
        world = world.fillna(history.world_production.sel(maker=maker, drop=True))
        known = [int(y) for y, w in zip(years, world.values, strict=True) if not np.isnan(w)]
        if not known:
            msg = (
                f"makers.groups: {maker} reports no worldwide sales or production up to {last_year}"
            )
            raise InputError(msg)
        weights = np.array([makers.allocation.get(maker, {}).get(m, 0.0) for m in markets])
        for year in sorted(known, reverse=True):
            total = float(world.sel(year=year))
            reported = history.sales.sel(maker=maker, market=markets, year=year, drop=True).values
            split = _allocated(maker, year, total, reported, weights)
            table[i, :, list(years).index(year)] = split
            rows += [
                {
                    "maker": maker,
                    "market": m,
                    "year": year,
                    "vehicles": float(v),
                    "basis": "reported" if not np.isnan(r) else "allocated",
                }
                for m, v, r in zip(markets, split, reported, strict=True)
            ]
            weights = split  # earlier years: the latest year's split
    sales = xr.DataArray(
        table, coords={"maker": list(makers.groups), "market": markets, "year": years}
    )
    return sales, pd.DataFrame(rows)


def _allocated(
    maker: str, year: int, total: float, reported: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Sales by market: ``reported`` where given, the rest of ``total`` over the others by
    ``weights``."""
    remainder = total - np.nansum(reported)
    if remainder < -TARGET_TOLERANCE * total:
        msg = (
            f"makers.groups: {maker}'s reported markets in {year} add up to more than its "
            f"worldwide total {total:,.0f}"
        )
        raise InputError(msg)
    open_markets = np.isnan(reported)
    shares = np.where(open_markets, weights, 0.0)
    if shares.sum() == 0.0 and open_markets.sum() == 1:
        shares = open_markets.astype(float)  # the one market left takes the rest
    if remainder > TARGET_TOLERANCE * total and shares.sum() == 0.0:
        msg = (
            f"makers.allocation.{maker}: {remainder:,.0f} of its {year} total are in no "
            "reported market; allowed: shares over its unreported markets"
        )
        raise InputError(msg)
    allocated = max(remainder, 0.0) * shares / max(shares.sum(), 1.0e-300)
    return np.where(open_markets, allocated, reported)


def maker_shares(
    sales: xr.DataArray, market_total: xr.DataArray, spec: MakersShare, where: str
) -> xr.DataArray:
    """Each maker's share of one market's new cars (maker, year) [fraction].

    In a maker's data years its share is its sales over the market's new cars; linear
    between them and held outside. After the latest data year the makers' total share θ
    moves to ``spec.path`` with their split held. A path with a year at or before the
    latest data year sets θ in every year instead (the split still from the data).

    Parameters
    ----------
    sales : DataArray (maker, year) [vehicles/yr]
        The makers' sales in the market in their data years, NaN in others
        (:func:`allocated_sales`).
    market_total : DataArray (year) [vehicles/yr]
        The market's new cars in every model year.
    where : str
        The market's field path, for errors.
    """
    years = market_total.year.values
    data_years = sales.year.values[np.isin(sales.year.values, years)]
    observed = sales.sel(year=data_years) / market_total.sel(year=data_years)
    if not bool((observed.fillna(0.0) > 0.0).any()):
        msg = f"{where}: the makers sell no cars in this market in their data years; allowed: a market they sell in"
        raise InputError(msg)
    latest = int(data_years[observed.notnull().any("maker").values][-1])
    derived = xr.DataArray(
        np.stack(
            [_held(observed.sel(maker=k).values, data_years, years) for k in observed.maker.values]
        ),
        coords={"maker": observed.maker, "year": years},
    )
    held = derived.where(derived.year <= latest, derived.sel(year=latest, drop=True))
    split = held / held.sum("maker")
    anchors = dict(spec.path or {})
    if not anchors or min(anchors) > latest:
        anchors = {latest: float(held.sel(year=latest).sum()), **anchors}
        total = held.sum("maker").where(held.year <= latest, np.nan)
        after = xr.DataArray(interpolate_path(anchors, years), coords={"year": years})
        total = total.fillna(after)
    else:
        total = xr.DataArray(interpolate_path(anchors, years), coords={"year": years})
    worst = float(total.max())
    if worst > 1.0 + TARGET_TOLERANCE:
        year = int(years[int(np.argmax(total.values))])
        msg = (
            f"{where}: the makers' sales are {worst:.0%} of the market's new cars in {year}; "
            "allowed: at most 100% (give the share by year in 'path')"
        )
        raise InputError(msg)
    return split * total


def _held(values: np.ndarray, data_years: np.ndarray, years: np.ndarray) -> np.ndarray:
    """``values`` at ``years``: linear between the years given, held outside; zero for a
    maker with no figure."""
    known = ~np.isnan(values)
    if not known.any():
        return np.zeros(len(years))
    return np.interp(years, data_years[known], values[known])


def makers_mix(spec: MakersMix, years: np.ndarray) -> xr.DataArray | None:
    """The makers' powertrain mix (powertrain, year) [fraction]; None to follow the market."""
    if spec.method == "market" or spec.path is None:
        return None
    anchors = {
        year: xr.DataArray(
            [mix.get(p, 0.0) for p in POWERTRAINS], coords={"powertrain": list(POWERTRAINS)}
        )
        for year, mix in spec.path.items()
    }
    return path_through(anchors, years, spec.curve).transpose("powertrain", "year")


def makers_sales(
    market_sales: xr.DataArray, share: xr.DataArray, mix: xr.DataArray | None
) -> xr.DataArray:
    """The makers' new cars in the market (region, segment, powertrain, year) [vehicles/yr].

    θ(t) × the market's cars of each segment, split by the makers' mix (or, without one,
    by the market's own mix). Every region of the market has the same θ.
    """
    total_share = share.sum("maker")
    if mix is None:
        cars = market_sales * total_share
    else:
        cars = market_sales.sum("powertrain") * total_share * mix
    return cars.transpose("region", "segment", "powertrain", "year").rename("sales")


def by_maker(makers: xr.DataArray, share: xr.DataArray) -> xr.DataArray:
    """The makers' cars by maker (maker, region, powertrain, year) [vehicles/yr]."""
    total_share = share.sum("maker")
    split = (share / total_share.where(total_share > 0)).fillna(0.0)
    return (makers.sum("segment") * split).transpose("maker", "region", "powertrain", "year")


def maker_metal(maker_cars: xr.DataArray, metal: xr.DataArray) -> xr.DataArray:
    """Each maker's metal demand over every market (maker, metal, year) [t/yr].

    The makers share a market's mix, so a maker's part of the market's battery capacity,
    and of the metal in it, is its part of the makers' cars there; the recycled metal
    credited against primary demand is split the same way (an approximation: it comes
    from the cars retired, not those sold).
    """
    cars = maker_cars.sum("powertrain")
    split = (cars / cars.sum("maker")).fillna(0.0)
    return dot(split, metal, dim="region").transpose("maker", "metal", "year")


def combine_markets(parts: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """One Dataset over the regions of every market.

    Counts (see :data:`EXTENSIVE`) are zero where a market lacks a segment, cohort or
    chemistry another market has; means by segment are left out (:data:`LEFT_OUT`).
    Variables without a region are kept when every market computed the same values (the
    metals' supply figures) and dropped otherwise (the pack price of each market's own
    learning curve).
    """
    datasets = [d.drop_vars(LEFT_OUT, errors="ignore") for d in parts.values()]
    regional = [d[[v for v in d.data_vars if "region" in d[v].dims]] for d in datasets]
    combined = xr.concat(regional, "region", join="outer", data_vars="all", coords="minimal")
    counts = {v: combined[v].fillna(0.0) for v in EXTENSIVE if v in combined}
    combined = combined.assign(counts)
    first = datasets[0]
    for name in [v for v in first.data_vars if "region" not in first[v].dims]:
        if all(name in d and d[name].equals(first[name]) for d in datasets[1:]):
            combined[name] = first[name]
    return combined


def scope_per_car(dataset: xr.Dataset, metrics: tuple[str, ...]) -> xr.DataArray:
    """Per-car figures of the whole scope (metric, year) [kg CO2e/vehicle/yr]: each region's
    value weighted by the makers' new cars (per new car) or cars on the road (per car)."""
    rows = []
    for metric in metrics:
        weight = _weight(dataset, metric)
        rows.append((dataset[metric] * weight).sum("region") / weight.sum("region"))
    return xr.concat(rows, dim=xr.DataArray(list(metrics), dims="metric"))


def market_sums(values: xr.DataArray, markets: Mapping[str, tuple[str, ...]]) -> xr.DataArray:
    """``values`` (region, …) summed over the regions of each market (market, …)."""
    return xr.concat(
        [values.sel(region=list(regions)).sum("region") for regions in markets.values()],
        dim=xr.DataArray(list(markets), dims="market"),
    )


def market_per_car(
    dataset: xr.Dataset, metric: str, markets: Mapping[str, tuple[str, ...]]
) -> xr.DataArray:
    """A per-car metric of each market (market, year), weighted over the market's regions."""
    weight = _weight(dataset, metric)
    return market_sums(dataset[metric] * weight, markets) / market_sums(weight, markets)


def market_weight(
    dataset: xr.Dataset, metric: str, markets: Mapping[str, tuple[str, ...]]
) -> xr.DataArray:
    """Each market's weight in the scope's per-car metric (market, year) [fraction]."""
    cars = market_sums(_weight(dataset, metric), markets)
    return cars / cars.sum("market")


def _weight(dataset: xr.Dataset, metric: str) -> xr.DataArray:
    """Cars behind a per-car metric (region, year): new cars or cars on the road."""
    cars = dataset["sales"] if "new_car" in metric else dataset["stock"]
    return cars.sum(["segment", "powertrain"])


def electrified_share(maker_cars: xr.DataArray) -> xr.DataArray:
    """Electrified share of the makers' new cars over every market (year) [fraction]."""
    every = maker_cars.sum(["maker", "region"])
    return every.sel(powertrain=list(ELECTRIFIED)).sum("powertrain") / every.sum("powertrain")


SCOPE_VARIABLES = (
    "maker_sales",
    "market_sales",
    "makers_market_share",
    "scope_per_car",
    "scope_emission_reduction",
    "scope_electrified_sales_share",
    "maker_metal_primary_demand",
)
"""Variables only a makers' scope run has (besides each market's variables)."""

ALL_MARKETS = "All markets"
"""The row of the whole scope in per-market tables."""


def scope_target_table(
    dataset: xr.Dataset, spec: Target, markets: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """The per-car target for the whole scope and what each market contributes.

    Rows: :data:`ALL_MARKETS`, then each market. Columns as the scenario's target table
    (base value, value and reduction in the target year, met, gap, first year met), plus:
    ``weight``, the market's share of the makers' cars behind the metric in the target
    year; ``contribution``, weight × (market value − the scope's goal), which sums over
    the markets to the scope's value − goal (positive: the market holds the target back);
    ``needed_alone``, the market's value that would meet the scope's goal if every other
    market stayed as it is (negative: the market cannot close the gap alone).
    """
    metric = spec.metric
    scope = dataset["scope_per_car"].sel(metric=metric, drop=True)
    per_market = market_per_car(dataset, metric, markets)
    weights = market_weight(dataset, metric, markets).sel(year=spec.year, drop=True)
    goal = (1.0 - spec.reduction) * float(scope.sel(year=spec.base_year))
    value = float(scope.sel(year=spec.year))
    unit = dataset[metric].attrs.get("units", "")
    rows = [
        _target_row(ALL_MARKETS, scope, spec, unit)
        | {"weight": 1.0, "contribution": value - goal, "needed_alone": goal}
    ]
    for market in markets:
        series = per_market.sel(market=market, drop=True)
        weight = float(weights.sel(market=market))
        own = float(series.sel(year=spec.year))
        rows.append(
            _target_row(market, series, spec, unit)
            | {
                "weight": weight,
                "contribution": weight * (own - goal),
                "needed_alone": own - (value - goal) / weight if weight > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("market")


def _target_row(name: str, series: xr.DataArray, spec: Target, unit: str) -> dict[str, object]:
    """Base value, value, reduction, met, gap and first year met of one per-car series."""
    cut = 1.0 - series / series.sel(year=spec.base_year)
    reached = cut.year.where(cut >= spec.reduction - TARGET_TOLERANCE).min()
    achieved = float(cut.sel(year=spec.year))
    return {
        "market": name,
        "metric": spec.metric,
        "unit": unit,
        "base_year": spec.base_year,
        "base_value": float(series.sel(year=spec.base_year)),
        "target_year": spec.year,
        "value": float(series.sel(year=spec.year)),
        "target_reduction": spec.reduction,
        "reduction": achieved,
        "met": achieved >= spec.reduction - TARGET_TOLERANCE,
        "gap": max(spec.reduction - achieved, 0.0),
        "first_year_met": None if np.isnan(float(reached)) else int(reached),
    }


def makers_fleet_scenario(scenario: Scenario, start_share: float) -> Scenario:
    """The market's scenario for the makers' cars: an initial stock given in cars is scaled
    to the makers' share of the market's new cars in the first model year (an initial
    stock from past sales follows the makers' sales by itself)."""
    stock = scenario.fleet.initial_stock
    if stock.total is None:
        return scenario
    scaled = {segment: cars * start_share for segment, cars in stock.total.items()}
    fleet = scenario.fleet.model_copy(
        update={"initial_stock": stock.model_copy(update={"total": scaled})}
    )
    return scenario.model_copy(update={"fleet": fleet})


def scope_dataset(
    markets: xr.Dataset,
    *,
    maker_sales: xr.DataArray,
    market_sales: xr.DataArray,
    market_share: xr.DataArray,
    metrics: tuple[str, ...],
    target: Target,
) -> xr.Dataset:
    """The scope's Dataset: the markets' variables for the makers' cars, the makers' cars by
    maker, the markets' own sales, the makers' share of each market, and the scope's
    per-car figures and electrified share. Units from the variable catalogue."""
    per_car = scope_per_car(markets, metrics)
    metric = per_car.sel(metric=target.metric, drop=True)
    added = {
        "maker_sales": maker_sales,
        "market_sales": market_sales,
        "makers_market_share": market_share,
        "scope_per_car": per_car,
        "scope_emission_reduction": 1.0 - metric / metric.sel(year=target.base_year, drop=True),
        "scope_electrified_sales_share": electrified_share(maker_sales),
        "maker_metal_primary_demand": maker_metal(maker_sales, markets["metal_primary_demand"]),
    }
    dataset = markets.assign({name: array.drop_attrs() for name, array in added.items()})
    order = ("maker", "region", "segment", "powertrain", "year")
    return annotate(dataset.transpose(*[d for d in order if d in dataset.dims], ...))
