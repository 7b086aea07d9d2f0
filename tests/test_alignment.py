"""Model arithmetic refuses arrays whose labels differ, on the main thread only."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr

from evpath.core.alignment import exact_dataset, exactly_aligned


def _years(first: int) -> xr.DataArray:
    return xr.DataArray(np.ones(3), coords={"year": np.arange(first, first + 3)})


@exactly_aligned
def _add(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    return a + b


def test_arrays_with_other_labels_are_refused_not_cut_to_the_shared_ones():
    with pytest.raises(ValueError, match="exact"):
        _add(_years(2020), _years(2021))
    assert (_add(_years(2020), _years(2020)) == 2.0).all()
    # outside, xarray's own default is back: the shared labels only
    assert list((_years(2020) + _years(2021)).year.values) == [2021, 2022]


def test_other_threads_keep_xarrays_default():
    seen: list[list[int]] = []
    thread = threading.Thread(
        target=lambda: seen.append(list(_add(_years(2020), _years(2021)).year.values))
    )
    thread.start()
    thread.join()
    assert seen == [[2021, 2022]]


def test_no_model_code_changes_xarrays_options_off_the_main_thread(monkeypatch):
    """xarray's options are process-wide: a dashboard thread running the model (the stock
    engine with an initial stock included) must not switch every other thread to exact
    joins."""
    import evpath
    from evpath.stock import inflow_driven
    from evpath.survival import Normal

    changes: list[dict] = []
    original = xr.set_options

    def watched(**options):
        if threading.current_thread() is not threading.main_thread():
            changes.append(options)
        return original(**options)

    monkeypatch.setattr(xr, "set_options", watched)
    inflow = xr.DataArray(
        np.full((3, 2), 100.0), coords={"year": [2020, 2021, 2022], "region": ["A", "B"]}
    )
    initial = xr.DataArray(
        np.full((2, 4), 10.0), coords={"region": ["A", "B"], "age": np.arange(4)}
    )
    failures: list[BaseException] = []

    def model() -> None:
        try:
            inflow_driven(inflow, Normal(8.0, 2.0), initial_stock=initial, by_cohort=True)
            evpath.run("japan-2050")
        except BaseException as exc:  # reported below
            failures.append(exc)

    thread = threading.Thread(target=model)
    thread.start()
    thread.join()
    assert failures == []
    assert changes == []


def test_a_dataset_of_matching_arrays_is_the_constructors_and_others_are_refused():
    stock = _years(2020).expand_dims(region=["JPN", "USA"]).assign_attrs(units="vehicles")
    share = xr.DataArray([0.25, 0.75], coords={"region": ["JPN", "USA"]}, name="ignored")
    arrays = {"stock": stock, "share": share, "scalar": xr.DataArray(1.5)}
    xr.testing.assert_identical(exact_dataset(arrays), xr.Dataset(arrays))
    assert list(exact_dataset(arrays).data_vars) == ["stock", "share", "scalar"]
    with pytest.raises(ValueError, match="year"):  # xr.Dataset would pad both with NaN
        exact_dataset({"stock": _years(2020), "later": _years(2021)})
