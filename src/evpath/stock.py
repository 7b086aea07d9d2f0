"""Public home of the dynamic stock engine (see :mod:`evpath.model.stock`).

>>> from evpath.stock import inflow_driven, stock_driven
"""

from evpath.model.stock import (
    NegativeInflow,
    NegativeInflowReport,
    StockResult,
    inflow_driven,
    stock_driven,
)

__all__ = ["NegativeInflow", "NegativeInflowReport", "StockResult", "inflow_driven", "stock_driven"]
