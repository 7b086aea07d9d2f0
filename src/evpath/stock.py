"""Public home of the dynamic stock engine (see :mod:`evpath.model.stock`).

>>> from evpath.stock import inflow_driven, stock_driven
"""

from evpath.model.stock import (
    NegativeInflowReport,
    StockResult,
    inflow_driven,
    stock_driven,
)

__all__ = ["NegativeInflowReport", "StockResult", "inflow_driven", "stock_driven"]
