"""Results of the dynamic stock engine: flows and stock, and the negative-inflow report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import xarray as xr

NegativeInflow = Literal["raise", "allow", "zero"]
"""How :func:`evpath.model.stock.stock_driven` handles a negative solved inflow."""


@dataclass(frozen=True, eq=False)
class NegativeInflowReport:
    """Where a stock-driven model found negative inflow, and what was done.

    Attributes
    ----------
    handling : {"raise", "allow", "zero"}
        The ``negative_inflow`` choice: "allow" kept the negative values, "zero" set them
        to zero (the stock then exceeds the target).
    negative : DataArray (year, ...) [vehicles/yr]
        The solved inflow where it was negative (before handling), 0 elsewhere.
    stock_excess : DataArray (year, ...) [vehicles] or None
        Achieved stock minus target stock, for "zero"; None otherwise.
    """

    handling: NegativeInflow
    negative: xr.DataArray
    stock_excess: xr.DataArray | None

    @property
    def found(self) -> bool:
        """True if any year and series had negative inflow."""
        return bool((self.negative < 0).any())

    @property
    def years(self) -> tuple[int, ...]:
        """Years with negative inflow in at least one series."""
        other = [d for d in self.negative.dims if d != "year"]
        hit = (self.negative < 0).any(other) if other else self.negative < 0
        return tuple(int(y) for y in self.negative["year"].values[hit.values])

    def to_frame(self) -> pd.DataFrame:
        """One row per year and series with negative inflow.

        Returns
        -------
        DataFrame
            Columns: the dims of ``negative`` and ``inflow`` [vehicles/yr].
        """
        frame = self.negative.rename("inflow").to_dataframe().reset_index()
        return frame[frame["inflow"] < 0].reset_index(drop=True)

    def __str__(self) -> str:
        if not self.found:
            return "no negative inflow"
        action = {"allow": "kept", "zero": "set to zero", "raise": "raised"}[self.handling]
        count = int((self.negative < 0).sum())
        return f"negative inflow in {count} year-series cell(s), years {list(self.years)}; {action}"


@dataclass(frozen=True, eq=False)
class StockResult:
    """Flows and stock of a dynamic stock model.

    Attributes
    ----------
    inflow : DataArray (year, ...) [vehicles/yr]
    stock : DataArray (year, ...) [vehicles]
        At the end of each year.
    outflow : DataArray (year, ...) [vehicles/yr]
    stock_by_cohort : DataArray (year, cohort, ...) [vehicles] or None
        Only with ``by_cohort=True``. Cohorts before the first model year are the
        initial stock (cohort = first year - 1 - age).
    outflow_by_cohort : DataArray (year, cohort, ...) [vehicles/yr] or None
        Only with ``by_cohort=True``.
    stock_from_initial : DataArray (year, ...) [vehicles] or None
        Part of ``stock`` that is left of the initial stock; only with an initial stock.
    outflow_from_initial : DataArray (year, ...) [vehicles/yr] or None
        Part of ``outflow`` from the initial stock; only with an initial stock.
    negative_inflow : NegativeInflowReport or None
        Only for :func:`evpath.model.stock.stock_driven`.
    """

    inflow: xr.DataArray
    stock: xr.DataArray
    outflow: xr.DataArray
    stock_by_cohort: xr.DataArray | None = None
    outflow_by_cohort: xr.DataArray | None = None
    stock_from_initial: xr.DataArray | None = None
    outflow_from_initial: xr.DataArray | None = None
    negative_inflow: NegativeInflowReport | None = None

    def to_dataset(self) -> xr.Dataset:
        """All arrays in one Dataset.

        Returns
        -------
        Dataset
            Variables ``inflow``, ``stock``, ``outflow`` and, when present,
            ``stock_by_cohort``, ``outflow_by_cohort``, ``stock_from_initial``,
            ``outflow_from_initial``, ``negative_inflow`` and ``stock_excess``; attribute
            ``negative_inflow_handling`` for stock-driven results.
        """
        names = (
            "inflow",
            "stock",
            "outflow",
            "stock_by_cohort",
            "outflow_by_cohort",
            "stock_from_initial",
            "outflow_from_initial",
        )
        data = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        attrs: dict[str, str] = {}
        if self.negative_inflow is not None:
            data["negative_inflow"] = self.negative_inflow.negative
            if self.negative_inflow.stock_excess is not None:
                data["stock_excess"] = self.negative_inflow.stock_excess
            attrs["negative_inflow_handling"] = self.negative_inflow.handling
        return xr.Dataset(data, attrs=attrs)
