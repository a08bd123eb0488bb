"""Human labels and units of the report's fields, for people (PDF, zh-CN CSV headers).

One table per part of the report: field key → (label msgid, unit). Units are symbols, the same in
every language. Machine names (JSON keys, the English CSV header) stay the keys themselves.
"""

from __future__ import annotations

from ems.i18n import N_, translate

# energies [kWh] and CO2 [kg]: the report's totals and interval columns
QUANTITIES: dict[str, tuple[str, str]] = {
    "start_utc": (N_("Interval start (UTC)"), ""),
    "grid_import_kwh": (N_("Grid import"), "kWh"),
    "export_kwh": (N_("Export to the grid"), "kWh"),
    "local_re_kwh": (N_("Local renewable generation"), "kWh"),
    "re_consumed_kwh": (N_("Local renewables consumed"), "kWh"),
    "direct_green_kwh": (N_("Direct green supply (绿电直连)"), "kWh"),
    "direct_consumed_kwh": (N_("Direct green supply consumed"), "kWh"),
    "charge_kwh": (N_("Storage charge"), "kWh"),
    "discharge_kwh": (N_("Storage discharge"), "kWh"),
    "storage_losses_kwh": (N_("Storage losses"), "kWh"),
    "storage_losses_cfe_kwh": (N_("Storage losses, carbon-free part"), "kWh"),
    "storage_losses_green_kwh": (N_("Storage losses, green part"), "kWh"),
    "storage_charged_cfe_kwh": (N_("Storage charged, carbon-free part"), "kWh"),
    "storage_charged_green_kwh": (N_("Storage charged, green part"), "kWh"),
    "storage_discharged_cfe_kwh": (N_("Storage discharged, carbon-free part"), "kWh"),
    "storage_discharged_green_kwh": (N_("Storage discharged, green part"), "kWh"),
    "consumption_kwh": (N_("Park consumption"), "kWh"),
    "load_metered_kwh": (N_("Metered load"), "kWh"),
    "imbalance_kwh": (N_("Balance difference (losses, unmetered)"), "kWh"),
    "contract_kwh": (N_("Green-power trading (绿电交易)"), "kWh"),
    "contract_time_matched_kwh": (N_("Green-power trading, time-matched"), "kWh"),
    "contract_excess_kwh": (N_("Green-power trading, not usable"), "kWh"),
    "certificate_kwh": (N_("Green certificates (绿证)"), "kWh"),
    "residual_kwh": (N_("Residual grid import"), "kWh"),
    "cfe_kwh": (N_("Carbon-free energy consumed"), "kWh"),
    "green_kwh": (N_("Green energy consumed"), "kWh"),
    "unknown_origin_kwh": (N_("Stored energy of unknown origin"), "kWh"),
    "grid_factor_kg_per_kwh": (N_("Grid emission factor"), "kgCO₂/kWh"),
    "location_scope2_kg": (N_("Scope 2 emissions, location-based"), "kgCO₂"),
    "market_scope2_kg": (N_("Scope 2 emissions, market-based"), "kgCO₂"),
    "location_attributed_kg": (N_("Attributed emissions, location-based"), "kgCO₂"),
    "market_attributed_kg": (N_("Attributed emissions, market-based"), "kgCO₂"),
    "location_exported_kg": (N_("Emissions exported, location-based"), "kgCO₂"),
    "market_exported_kg": (N_("Emissions exported, market-based"), "kgCO₂"),
    "location_unknown_origin_kg": (N_("Unknown-origin emissions, location-based"), "kgCO₂"),
    "market_unknown_origin_kg": (N_("Unknown-origin emissions, market-based"), "kgCO₂"),
    "location_imbalance_kg": (N_("Balance-difference emissions, location-based"), "kgCO₂"),
    "market_imbalance_kg": (N_("Balance-difference emissions, market-based"), "kgCO₂"),
    "completeness": (N_("Data completeness"), ""),
    "estimated": (N_("Contains filled values"), ""),
    "fills": (N_("Filled values (device:method)"), ""),
}

INDICATORS: dict[str, tuple[str, str]] = {
    "energy_tce": (N_("Energy consumption"), "tce"),
    "energy_tce_per_year": (N_("Energy consumption, annualised"), "tce/a"),
    "co2_t": (N_("CO₂ emissions"), "tCO₂"),
    "intensity_t_per_tce": (N_("Carbon emissions per unit of energy consumption (单位能耗碳排放)"), "tCO₂/tce"),
    "intensity_limit": (N_("Limit for carbon emissions per unit of energy"), "tCO₂/tce"),
    "intensity_gap": (N_("Above the limit by"), "tCO₂/tce"),
    "intensity_ok": (N_("Meets the limit"), ""),
    "clean_share": (N_("Clean-energy consumption share (清洁能源消费占比)"), "%"),
    "clean_share_gap": (N_("Below the clean-energy share threshold by"), "%"),
    "clean_share_ok": (N_("Meets the clean-energy share threshold"), ""),
    "direct_green_share": (N_("Share of direct green supply (绿电直连)"), "%"),
    "band": (N_("Energy-consumption band"), ""),
}

# the energy-consumption bands of ems.carbon.indicators, as it words them (a test keeps them in step)
BANDS = (
    N_("above 1,000,000 tce/a"),
    N_("200,000-1,000,000 tce/a"),
    N_("below 200,000 tce/a (no band in the notice; 0.20 shown for reference)"),
)

FACTOR_FIELDS: dict[str, str] = {
    "id": N_("Identifier"),
    "key": N_("Key"),
    "version": N_("Version"),
    "value": N_("Value"),
    "unit": N_("Unit"),
    "scope": N_("Scope"),
    "region": N_("Region"),
    "data_year": N_("Data year"),
    "publisher": N_("Publisher"),
    "document": N_("Document"),
    "published": N_("Published"),
    "note": N_("Note"),
    "origin": N_("Origin"),
    "verification": N_("Verification"),
}

FACTOR_ROLES: dict[str, str] = {
    "grid": N_("Grid emission factor (location-based)"),
    "residual": N_("Residual emission factor (market-based)"),
}

BOUNDARY: dict[str, str] = {
    "grid_meter": N_("Grid connection meter"),
    "generators": N_("Generators"),
    "batteries": N_("Batteries"),
    "green_meters": N_("Direct green supply meters"),
    "load_meters": N_("Load meters"),
    "consumption": N_("Consumption"),
}

FORMULAS: dict[str, str] = {
    "consumption": N_("Park consumption"),
    "location_scope2": N_("Scope 2, location-based"),
    "market_scope2": N_("Scope 2, market-based"),
    "certificate_allocation": N_("Green certificate allocation"),
    "storage_ledger": N_("Storage carbon ledger"),
    "storage_balance": N_("Storage balance"),
    "attributed": N_("Attributed emissions"),
    "park_factor": N_("Park electricity carbon emission factor"),
    "reconciliation": N_("Reconciliation"),
    "cfe": N_("Carbon-free energy score"),
    "clean_share": N_("Clean-energy consumption share"),
    "energy": N_("Comprehensive energy consumption"),
    "intensity": N_("Carbon emissions per unit of energy consumption"),
}


def label(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """``Label [unit]`` in ``lang``; an unknown key is shown as it is (a test keeps the tables complete)."""
    if key not in table:
        return key
    msgid, unit = table[key]
    text = translate(msgid, lang)
    return f"{text} [{unit}]" if unit else text


def csv_header(columns: tuple[str, ...], lang: str) -> list[str]:
    """The CSV header: the machine names in English, labels with units in other languages."""
    return list(columns) if lang == "en" else [label(QUANTITIES, c, lang) for c in columns]


FILL_METHODS: dict[str, str] = {
    "scaled": N_("scaled"),
    "interpolated": N_("interpolated"),
    "balance": N_("from the balance"),
    "zero": N_("zero"),
}
