"""Monte-Carlo ensembles and Sobol' sensitivity: a scenario's uncertain inputs drawn
(``uncertainty`` block), every member run vectorised over a ``draw`` dimension, and what
the members say together (percentiles, probability of meeting each target, Sobol' indices).
"""

from evpath.analysis.ensemble.result import QUANTILES, Ensemble
from evpath.analysis.ensemble.run import ensemble

__all__ = ["QUANTILES", "Ensemble", "ensemble"]
