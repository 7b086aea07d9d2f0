"""Every scenario validation error names the file, the field path, the value and what is allowed."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from evpath.errors import ScenarioError
from evpath.scenario import load_scenario

CASES = [
    (
        {"sales": {"milestones": [{"year": 2030, "shares": {"BEV": 1.3}, "note": "n"}]}},
        "sales.milestones[0].shares.BEV: allowed: less than or equal to 1 (got 1.3)",
    ),
    (
        {
            "sales": {
                "milestones": [{"year": 2030, "shares": {"BEV": -0.1, "HEV": 1.1}, "note": "n"}]
            }
        },
        "sales.milestones[0].shares.BEV: allowed: greater than or equal to 0 (got -0.1)",
    ),
    (
        {
            "sales": {
                "milestones": [{"year": 2030, "shares": {"BEV": 0.5, "HEV": 0.4}, "note": "n"}]
            }
        },
        "sales.milestones[0].shares: shares sum to 0.9; allowed: a sum of 1 within 1e-06",
    ),
    (
        {"sales": {"milestones": [{"year": 2030, "shares": {"EV": 1.0}, "note": "n"}]}},
        (
            "sales.milestones[0].shares.EV: allowed: 'ICEV_gasoline', 'ICEV_diesel', 'MHEV', "
            "'HEV', 'PHEV', 'BEV' or 'FCEV' (got 'EV')"
        ),
    ),
    (
        {
            "sales": {
                "milestones": [
                    {"year": 2040, "shares": {"BEV": 1.0}, "note": "n"},
                    {"year": 2030, "shares": {"BEV": 1.0}, "note": "n"},
                ]
            }
        },
        "sales.milestones[1].year: got 2030 after 2040; allowed: milestone years strictly increasing",
    ),
    (
        {"sales": {"milestones": [{"year": 2020, "shares": {"BEV": 1.0}, "note": "n"}]}},
        "sales.milestones[0].year: got 2020; allowed: a year after history_end (2024)",
    ),
    (
        {"sales": {"milestones": [{"year": 2030, "shares": {"BEV": 1.0}}]}},
        "sales.milestones[0]: this block holds assumptions: give a 'source:' or a 'note:'",
    ),
    (
        {
            "sales": {
                "milestones": [
                    {"year": 2030, "segment": "truck", "shares": {"BEV": 1.0}, "note": "n"}
                ]
            }
        },
        "sales.milestones[0].segment: got 'truck'; allowed: one of ['registered', 'kei']",
    ),
    (
        {"years": {"start": 1990, "history_end": 2024, "end": 2020}},
        (
            "years: years out of order: start=1990, history_end=2024, end=2020; "
            "allowed: start < history_end < end"
        ),
    ),
    ({"regions": ["JPN", "ATL"]}, "regions[1]: got 'ATL'; allowed: one of ['JPN']"),
    (
        {"fleet": {"lifetime": {"model": "weibull", "shape": -1.0, "mean": 12.0, "note": "n"}}},
        "fleet.lifetime.shape: allowed: greater than 0 (got -1.0)",
    ),
    (
        {
            "fleet": {
                "lifetime": {
                    "model": "normal",
                    "mean": {2000: 12.0, 2010: -3.0},
                    "std": 3.0,
                    "note": "n",
                }
            }
        },
        "fleet.lifetime.mean[2010]: allowed: greater than 0 (got -3.0)",
    ),
    (
        {"fleet": {"lifetime": {"model": "normal", "mean": 12.0, "note": "n"}}},
        "fleet.lifetime: lifetime model 'normal' needs 'std'; it takes ['mean', 'std']",
    ),
    *(
        (
            {"fleet": {"lifetime": {"model": model, "mean": 12.0, "std": 0.0, "note": "n"}}},
            "fleet.lifetime.std: allowed: greater than 0 (got 0.0)",
        )
        for model in ("normal", "folded_normal", "lognormal")
    ),
    (
        {"fleet": {"lifetime": {"shape": 2.0, "std": 3.0}}},
        "fleet.lifetime: lifetime model 'weibull' takes no 'std'; it takes ['shape', 'mean']",
    ),
    (
        {"fleet": {"lifetime": {"model": "gamma", "mean": 12.0, "note": "n"}}},
        (
            "fleet.lifetime.model: allowed: 'fixed', 'normal', 'folded_normal', 'lognormal', "
            "'weibull' or 'empirical' (got 'gamma')"
        ),
    ),
    (
        {"sales": {"total": {"method": "growth", "rate": 0.9, "note": "n"}}},
        "sales.total.rate: allowed: less than or equal to 0.5 (got 0.9)",
    ),
    (
        {"sales": {"total": {"method": "path", "note": "n"}}},
        "sales.total: method 'path' needs a 'path:' of total sales by year",
    ),
    (
        {"sales": {"curve": {"kind": "cubic"}}},
        "sales.curve.kind: allowed: 'linear', 'logistic' or 'bass' (got 'cubic')",
    ),
    (
        {"sales": {"total": {"method": "growth", "rate": 0.0, "note": "n", "speed": 3}}},
        "sales.total.speed: unknown field; allowed fields here: source, note, method, rate, path",
    ),
    (
        {"fleet": {"initial_stock": {"total": {"registered": -5}}}},
        "fleet.initial_stock.total.registered: allowed: greater than or equal to 0 (got -5)",
    ),
    (
        {"fleet": {"initial_stock": {"powertrain_shares": {"ICEV_gasoline": 0.5}}}},
        "fleet.initial_stock.powertrain_shares: shares sum to 0.5",
    ),
    ({"sales": {"history": "mars"}}, "sales.history: got 'mars'; allowed: one of ['iea', 'japan']"),
    (
        {"emissions": {"grid": {"pathway": {2030: {"intensity": 300, "mix": {"coal": 1.0}}}}}},
        "emissions.grid.pathway[2030]: give either 'intensity' (g CO2e/kWh) or 'mix'",
    ),
    (
        {"emissions": {"grid": {"pathway": {2030: {"mix": {"coal": 0.5, "fusion": 0.5}}}}}},
        "emissions.grid.pathway[2030].mix.fusion: allowed: 'coal', 'gas', 'oil'",
    ),
    (
        {"emissions": {"target": {"reduction": 1.5}}},
        "emissions.target.reduction: allowed: less than or equal to 1 (got 1.5)",
    ),
    (
        {"emissions": {"energy": {"phev_utility_factor": -0.2}}},
        "emissions.energy.phev_utility_factor: allowed: greater than or equal to 0 (got -0.2)",
    ),
    ({"target_year": "soon"}, "target_year: allowed: a valid integer"),
    (
        {"target_year": 1900},
        "target_year: got 1900; allowed: a model year from years.start (1990) to years.end (2060)",
    ),
    ({"target_year": 2200}, "target_year: got 2200; allowed: a model year from years.start"),
    (
        {"emissions": {"target": {"base_year": 1900}}},
        "emissions.target.base_year: got 1900; allowed: a model year from years.start (1990)",
    ),
    (
        {"emissions": {"target": {"base_year": 2050}}},
        "emissions.target: base_year: got 2050; allowed: a year before the target year (2050)",
    ),
    (
        {"years": {"start": 1990, "history_end": 2024, "end": 2025}, "sales": {"milestones": []}},
        "target_year: got 2050; allowed: a model year from years.start (1990) to years.end (2025)",
    ),
    (
        {"emissions": {"activity": {"annual_km": {"registered": 9000, "kei": float("inf")}}}},
        "emissions.activity.annual_km.kei: allowed: a finite number (got inf)",
    ),
    (
        {"emissions": {"activity": {"annual_km": {"registered": 9000, "kei": 1e6}}}},
        "emissions.activity.annual_km.kei: allowed: 0 to 200,000 km/yr (got 1000000.0)",
    ),
    (
        {"fleet": {"lifetime": {"mean": 1e-300}}},
        "fleet.lifetime.mean: allowed: 0.5 to 100 years (got 1e-300)",
    ),
    (
        {"fleet": {"lifetime": {"shape": 0.01}}},
        "fleet.lifetime.shape: allowed: 0.1 to 20 (dimensionless) (got 0.01)",
    ),
    (
        {"charging": {"capex_usd": {"slow": float("nan"), "fast": 1.0}}},
        "charging.capex_usd.slow: allowed: a finite number (got nan)",
    ),
    (
        {"charging": {"fast_kw": {2024: 50, 2035: -120}}},
        "charging.fast_kw[2035]: allowed: greater than 0 (got -120)",
    ),
    ({"charging": {"fast_kw": 5000}}, "charging.fast_kw: allowed: 0 to 1,000 kW (got 5000)"),
    (
        {"charging": {"ratio_method": "path", "ratio_path": {"fast": {2030: float("nan")}}}},
        "charging.ratio_path.fast[2030]: allowed: a finite number (got nan)",
    ),
    (
        {"charging": {"ratio_method": "path"}},
        "charging: ratio_method 'path' needs a 'ratio_path:'",
    ),
    ({"regions": ["JPN", "JPN"]}, "regions: got 'JPN' at [0] and [1]; allowed: each region once"),
    (
        {"name": "a" * 300},
        "name: got 'aaaaaaaaaa",
    ),
    ({"name": "../up"}, "name: got '../up'; allowed: 1 to 64 lowercase letters, digits"),
    (
        {"batteries": {"packs": {"kwh": {"registered": {"BEV": float("-inf")}}}}},
        "batteries.packs.kwh.registered.BEV: allowed: a finite number (got -inf)",
    ),
    (
        {"batteries": {"packs": {"kwh": {"registered": {"BEV": {2010: 24, 2030: 900}}}}}},
        "batteries.packs.kwh.registered.BEV[2030]: allowed: 0 to 500 kWh (got 900)",
    ),
    (
        {"batteries": {"packs": {"kwh": {"truck": {"BEV": 60}}}}},
        "batteries.packs.kwh.truck: got 'truck'; allowed: one of ['registered', 'kei']",
    ),
    (
        {"batteries": {"price": {"world_demand": {2030: float("nan")}}}},
        "batteries.price.world_demand[2030]: allowed: a finite number (got nan)",
    ),
    (
        {"batteries": {"recycling": {"export_share": {2030: 1.5}}}},
        "batteries.recycling.export_share[2030]: allowed: less than or equal to 1 (got 1.5)",
    ),
    (
        {"emissions": {"grid": {"pathway": {2050: {"intensity": float("inf")}}}}},
        "emissions.grid.pathway[2050].intensity: allowed: a finite number (got inf)",
    ),
    (
        {"emissions": {"grid": {"pathway": {2050: {"intensity": 5000}}}}},
        "emissions.grid.pathway[2050].intensity: allowed: 0 to 2,000 g CO2e/kWh (got 5000)",
    ),
    (
        {"sales": {"total": {"method": "path", "path": {2030: float("nan")}, "note": "n"}}},
        "sales.total.path[2030]: allowed: a finite number (got nan)",
    ),
    (
        {"sales": {"segment_split": {"method": "path", "path": {"kei": {2030: 1.2}}, "note": "n"}}},
        "sales.segment_split.path.kei[2030]: allowed: less than or equal to 1 (got 1.2)",
    ),
    (
        {"sales": {"segment_split": {"method": "path", "path": {}, "note": "n"}}},
        "sales.segment_split.path: got paths for []; allowed: a path for every segment but one",
    ),
    ({"years": {"start": 1990, "history_end": 2024, "end": 1e300}}, "years.end: "),
    (
        {"sales": {"total": {"method": "path", "path": {2030: 0}, "note": "no new cars"}}},
        "sales.total.path[2030]: allowed: greater than 0 (got 0)",
    ),
    (
        {"sales": {"total": {"method": "path", "path": {2020: 5e6}, "note": "a past year"}}},
        "sales.total.path[2020]: got 2020; allowed: a year from years.history_end (2024) on",
    ),
]


@pytest.mark.parametrize(("document", "expected"), CASES)
def test_error_names_file_path_value_and_allowed(write_scenario, document, expected):
    path = write_scenario(document)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_bundled_scenarios_are_valid():
    for name in ("japan-2050", "japan-current-trends"):
        assert load_scenario(name).name == name


def test_extends_overrides_single_fields(write_scenario):
    path = write_scenario({"target_year": 2045})
    scenario = load_scenario(path)
    base = load_scenario("japan-2050")
    assert scenario.target_year == 2045
    assert scenario.fleet == base.fleet
    assert scenario.sales == base.sales


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(ScenarioError, match="no such scenario file; allowed: a path"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match="japan-makers-2050: a bundled makers' scope, not a"):
        load_scenario("japan-makers-2050")  # where only a scenario will do
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken.yaml: not valid YAML at line 2"):
        load_scenario(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="got a list; allowed: a YAML mapping"):
        load_scenario(listing)


def test_extends_cycle_is_reported(tmp_path: Path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n", encoding="utf-8")
    b.write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="'extends' chain longer than 10; is there a cycle"):
        load_scenario(a)


def test_scenario_is_frozen():
    scenario = load_scenario("japan-2050")
    with pytest.raises(ValueError, match="frozen"):
        scenario.target_year = 2040  # type: ignore[misc]


def test_union_parameters_report_only_the_member_that_fits(write_scenario):
    path = write_scenario(
        {
            "fleet": {
                "lifetime": {
                    "model": "normal",
                    "mean": {2000: 12.0, 2010: -3.0},
                    "std": 3.0,
                    "note": "n",
                }
            }
        }
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert lines[1:] == ["  fleet.lifetime.mean[2010]: allowed: greater than 0 (got -3.0)"]


def test_empirical_survival_table_rules(write_scenario):
    rising = write_scenario(
        {
            "fleet": {
                "lifetime": {
                    "model": "empirical",
                    "survival": {0: 1.0, 10: 0.5, 20: 0.7, 30: 0.0},
                    "note": "n",
                }
            }
        }
    )
    with pytest.raises(ScenarioError, match=r"fleet.lifetime: survival: rises at age 20; allowed"):
        load_scenario(rising)
    late = write_scenario(
        {"fleet": {"lifetime": {"model": "empirical", "survival": {5: 1.0, 30: 0.0}, "note": "n"}}}
    )
    with pytest.raises(ScenarioError, match="survival: first age is 5; allowed: a table starting"):
        load_scenario(late)


def test_changing_a_variant_replaces_the_block(write_scenario):
    same_model = load_scenario(write_scenario({"fleet": {"lifetime": {"shape": 3.0}}}))
    assert same_model.fleet.lifetime.shape == 3.0
    assert same_model.fleet.lifetime.mean == load_scenario("japan-2050").fleet.lifetime.mean
    new_model = load_scenario(
        write_scenario(
            {"fleet": {"lifetime": {"model": "normal", "mean": 13.0, "std": 4.0, "note": "n"}}}
        )
    )
    assert new_model.fleet.lifetime.shape is None
    assert new_model.fleet.lifetime.std == 4.0
    cleared = load_scenario(write_scenario({"fleet": {"lifetime_by_segment": None}}))
    assert cleared.fleet.lifetime_by_segment == {}


def test_data_mappings_and_paths_are_replaced_not_merged(write_scenario):
    base = load_scenario("japan-2050")
    path = write_scenario(
        {
            "fleet": {"lifetime": {"mean": {2000: 14.0}}},
            "emissions": {
                "hydrogen": {"routes": {2024: {"electrolysis": 1.0}}},
                "grid": {"pathway": {2040: {"intensity": 100.0}}},
            },
        }
    )
    scenario = load_scenario(path)
    assert scenario.fleet.lifetime.mean == {2000: 14.0}
    assert scenario.fleet.lifetime.shape == base.fleet.lifetime.shape  # blocks still merge
    assert scenario.emissions.hydrogen.routes == {2024: {"electrolysis": 1.0}}
    assert list(scenario.emissions.grid.pathway) == [2040]
    assert scenario.emissions.grid.source == base.emissions.grid.source


def test_unknown_region_of_a_long_list_suggests_close_names(write_scenario):
    path = write_scenario({"extends": "world-current-trends", "regions": ["Chna"]})
    with pytest.raises(
        ScenarioError, match=r"regions\[0\]: got 'Chna'; allowed: did you mean \['China'"
    ):
        load_scenario(path)


def _write_bytes(tmp_path: Path, content: bytes, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: caf\xe9\n", r"not UTF-8 text \(byte 0xe9 at offset 9\); allowed: a YAML file"),
        (b"a: " + b"[" * 500 + b"]" * 500 + b"\n", r"nested deeper than 32 levels at line 1"),
        (
            b"name: a\nregions: [JPN]\nname: b\n",
            r"key 'name' repeated at line 3 \(first at line 1\)",
        ),
        (b"x: &x [1, *x]\n", r"alias \*x at line 1 refers to a value that contains it"),
        (
            b"a: &a [1,1,1,1,1,1,1,1,1,1]\n"
            + b"".join(
                f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n".encode() for a, b in pairwise("abcdef")
            ),
            r"more than 200,000 values \(aliases counted in full\)",
        ),
        (b"a: 1\n" + b"#" * 1_000_001, r"larger than 1,000,000 bytes; allowed: scenario files"),
        (b"target_year: " + b"9" * 5000 + b"\n", r"not valid YAML: a value cannot be read"),
        (b"a: 1\n\x00", r"not valid YAML at character 6: a control character"),
    ],
)
def test_yaml_reading_limits(tmp_path: Path, content: bytes, expected: str):
    path = _write_bytes(tmp_path, content)
    with pytest.raises(ScenarioError, match=expected) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("extends", "expected"),
    [
        (
            "/dev/zero",
            r"extends: got '/dev/zero'; allowed: a bundled scenario name \(.*\) or a path to a \.yaml or \.yml file",
        ),
        ("/etc/shadow", r"extends: got '/etc/shadow'; allowed: a bundled scenario name"),
        (
            "a" * 5000 + ".yaml",
            r"extends: got a path of 5,005 characters .*; allowed: a path of at most 1024 characters",
        ),
        (
            "x\x00y.yaml",
            r"extends: got 'x\\x00y.yaml'; allowed: a file path without control characters",
        ),
        ("absent.yaml", r"extends: absent.yaml: no such scenario file"),
    ],
)
def test_extends_only_names_yaml_files(tmp_path: Path, extends: str, expected: str):
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"extends": extends, "name": "child"}), encoding="utf-8")
    with pytest.raises(ScenarioError, match=expected) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: extends: "), message
    assert "root:" not in message, message


def test_extends_to_a_folder_or_device_named_yaml(tmp_path: Path):
    (tmp_path / "folder.yaml").mkdir()
    path = tmp_path / "child.yaml"
    path.write_text("extends: folder.yaml\nname: child\n", encoding="utf-8")
    with pytest.raises(
        ScenarioError, match=r"folder.yaml: not a regular file; allowed: a YAML file"
    ):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"^/dev/zero: not a regular file"):
        load_scenario("/dev/zero")


def test_content_of_a_file_that_is_not_yaml_is_never_shown(tmp_path: Path):
    secret = "s3cr3t-token: [unclosed, {value"
    path = tmp_path / "secret.yaml"
    path.write_text(secret + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML") as caught:
        load_scenario(path)
    assert "s3cr3t" not in str(caught.value)
    assert "unclosed" not in str(caught.value)


def test_bundled_scenario_names_fit_the_name_rule():
    from evpath.scenario.loader import bundled_scenarios

    for name in bundled_scenarios():
        assert load_scenario(name).name == name


def test_a_flag_is_not_a_number_and_a_year_key_is_not_written_twice(write_scenario, tmp_path):
    from evpath.errors import ScenarioError
    from evpath.scenario.loader import load_scenario

    flagged = write_scenario({"fleet": {"lifetime": {"shape": True}}})
    with pytest.raises(
        ScenarioError, match=r"fleet\.lifetime\.shape: a true/false flag; allowed: a number"
    ):
        load_scenario(flagged)
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        "extends: japan-2050\nname: twice\nbatteries:\n  packs:\n    kwh:\n      registered:\n"
        '        BEV: {2010: 24, "2010": 30}\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="key '2010' repeated"):
        load_scenario(twice)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            ("emissions", "energy", "new_car_test", "ICEV_gasoline"),
            "emissions.energy: new_car_test.ICEV_gasoline: got carriers []; allowed: exactly",
        ),
        (
            ("emissions", "activity", "annual_km", "kei"),
            "emissions.activity.annual_km: no value for ['kei']; allowed: a distance in km/yr",
        ),
        (
            ("charging", "capex_usd", "fast"),
            "charging.capex_usd: no value for ['fast']; allowed: a cost in USD for each of",
        ),
    ],
)
def test_a_whole_scenario_missing_an_entry_names_it(tmp_path, keys, expected):
    """A scenario written out in full (no extends) without one entry of a mapping that
    needs every label; an override could not drop it (overrides merge label by label)."""
    import yaml

    from evpath.errors import ScenarioError
    from evpath.scenario.loader import load_scenario

    document = load_scenario("japan-2050").model_dump(mode="json", exclude_none=True)
    node = document
    for key in keys[:-1]:
        node = node[key]
    if keys[-1] == "ICEV_gasoline":
        node[keys[-1]] = {}
    else:
        del node[keys[-1]]
    document.pop("extends", None)
    path = tmp_path / "whole.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert expected in str(error.value)


def test_overriding_one_value_by_label_keeps_the_others(write_scenario):
    """Changing one pack size keeps every other pack; a mix that sums to one is replaced
    whole, so no old share is left behind."""
    from evpath.scenario.loader import load_scenario

    base = load_scenario("japan-2050")
    changed = load_scenario(
        write_scenario(
            {
                "batteries": {"packs": {"kwh": {"registered": {"HEV": 1.5}}}},
                "emissions": {"activity": {"annual_km": {"kei": 7000}}},
                "fleet": {"initial_stock": {"powertrain_shares": {"ICEV_gasoline": 1.0}}},
            }
        )
    )
    assert changed.batteries is not None
    assert base.batteries is not None
    kwh, before = changed.batteries.packs.kwh, base.batteries.packs.kwh
    assert kwh["registered"]["HEV"] == 1.5
    assert kwh["registered"]["BEV"] == before["registered"]["BEV"]
    assert kwh["kei"] == before["kei"]
    assert changed.emissions is not None
    assert changed.emissions.activity.annual_km == {"registered": 9079.0, "kei": 7000.0}
    assert changed.fleet.initial_stock.powertrain_shares == {"ICEV_gasoline": 1.0}
