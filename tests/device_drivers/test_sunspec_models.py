"""Every SunSpec register map checked against the official model definitions (issue 13).

The reference is the SunSpec Alliance's JSON model definitions as shipped by pysunspec2
(read by :mod:`tests.device_drivers.sunspec_defs`, which does not import the project's
maps or codec). A map whose offset, length, type, size, scale-factor point, access or
enum value drifts from the standard fails here; the 704 errors of issue 13 (L=69,
scale factors at 58/59, WSetMod=2 for watts) were exactly such drifts.
"""

from __future__ import annotations

import dataclasses

import pytest

from device_drivers.register_map import MAPS_DIR, Point, RegisterMap, load_map
from tests.device_drivers.sunspec_defs import PROJECT_TYPE, ModelDef, model_def

SUNSPEC_MAPS = [m for m in (load_map(p) for p in sorted(MAPS_DIR.glob("*.yaml"))) if m.kind == "sunspec"]

# SunSpec units -> (the map's unit, its fixed scale): the map's engineering unit must be the standard's,
# or kilo- of it with scale 0.001
UNITS = {
    "W": {("W", 1.0), ("kW", 0.001)},
    "VA": {("VA", 1.0), ("kVA", 0.001)},
    "var": {("var", 1.0), ("kvar", 0.001)},
    "Var": {("var", 1.0), ("kvar", 0.001)},
    "Wh": {("Wh", 1.0), ("kWh", 0.001)},
    "WH": {("Wh", 1.0), ("kWh", 0.001)},
    "A": {("A", 1.0)},
    "V": {("V", 1.0)},
    "Hz": {("Hz", 1.0)},
    "C": {("degC", 1.0)},
    "Pct": {("%", 1.0)},
    "%": {("%", 1.0)},
    "%WHRtg": {("%", 1.0)},
    "% AhrRtg": {("%", 1.0)},
    "% WMax": {("%", 1.0)},
}


def _cases() -> list[tuple[RegisterMap, str, int]]:
    return [(m, model.name, mid) for m in SUNSPEC_MAPS for model in m.models for mid in model.ids]


@pytest.mark.parametrize(("rmap", "model_name", "model_id"), _cases(), ids=lambda x: getattr(x, "name", str(x)))
def test_map_model_matches_the_official_definition(rmap: RegisterMap, model_name: str, model_id: int) -> None:
    model = rmap.model(model_name)
    ref = model_def(model_id, repeats=0)  # a repeating group's L counts only the fixed part
    where = f"{rmap.name}.{model_name} (model {model_id} {ref.name})"
    assert model.length == ref.length, f"{where}: length {model.length}, SunSpec L={ref.length}"
    _check_points(model.points, ref, where)
    rg = model.repeating
    if rg is not None:
        # the group: its first copy starts after the fixed part, a copy is as long as the standard's,
        # and each point sits where the standard puts it inside the copy (second copy: one group further)
        two = model_def(model_id, repeats=2)
        first = min(d.offset for n, d in two.points.items() if n.startswith(f"{rg.name}[0]."))
        second = min(d.offset for n, d in two.points.items() if n.startswith(f"{rg.name}[1]."))
        assert (rg.offset, rg.length) == (first, second - first), f"{where}: group {rg.name} at {rg.offset}"
        assert rg.count is None or rg.count in ref.points, f"{where}: count point {rg.count}"
        ref_group = ModelDef(
            ref.id,
            ref.name,
            ref.length,
            {
                n.split(".", 1)[1]: dataclasses.replace(d, offset=d.offset - first)
                for n, d in two.points.items()
                if n.startswith(f"{rg.name}[0].")
            },
        )
        _check_points(rg.points, ref_group, f"{where}.{rg.name}")


def _check_points(points: tuple[Point, ...], ref: ModelDef, where: str) -> None:
    for pt in points:
        assert pt.name in ref.points, f"{where}: no point {pt.name!r} in SunSpec"
        d = ref.points[pt.name]
        assert pt.offset == d.offset, f"{where}.{pt.name}: offset {pt.offset}, SunSpec {d.offset}"
        assert pt.dtype == PROJECT_TYPE[d.type], f"{where}.{pt.name}: type {pt.dtype}, SunSpec {d.type}"
        assert pt.count == d.size, f"{where}.{pt.name}: {pt.count} registers, SunSpec {d.size}"
        assert pt.sf == d.sf, f"{where}.{pt.name}: scale factor {pt.sf}, SunSpec {d.sf}"
        if pt.writable:
            assert d.access == "RW", f"{where}.{pt.name}: written, but read-only in SunSpec"
        if d.units:
            assert (pt.unit, pt.scale) in UNITS[d.units], f"{where}.{pt.name}: {pt.unit}×{pt.scale} for {d.units}"


@pytest.mark.parametrize("rmap", SUNSPEC_MAPS, ids=lambda m: m.name)
def test_control_enable_values_are_the_standards_enum_values(rmap: RegisterMap) -> None:
    """Each enable value names its SunSpec symbol, and the symbol has that value in the definition."""
    for quantity, specs in rmap.controls.items():
        for spec in specs:
            assert spec.model is not None
            model = rmap.model(spec.model)
            symbols = dict(spec.symbols)
            for point, value in spec.enable:
                assert point in symbols, f"{rmap.name} {quantity}: enable {point}={value} names no SunSpec symbol"
                for mid in model.ids:
                    ref = model_def(mid).points[point].symbols
                    assert ref.get(symbols[point]) == value, (
                        f"{rmap.name} {quantity}: {point}={value} ({symbols[point]}), model {mid} has {ref}"
                    )


def test_704_is_the_published_layout() -> None:
    """The corrections of issue 13, stated against the definition: L=65, WMaxLimPct_SF 54, WSet_SF 55, WATTS=1."""
    ref = model_def(704)
    assert ref.length == 65
    assert (ref.points["WMaxLimPct_SF"].offset, ref.points["WSet_SF"].offset) == (54, 55)
    assert ref.points["WSetMod"].symbols["WATTS"] == 1
    storage = load_map("sunspec_storage").model("der_controls")
    assert {p.name: p.offset for p in storage.points}["WSet_SF"] == 55
