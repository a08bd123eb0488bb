"""Tenant and product electricity footprints: allocation of the park supply mix, statements, CBAM sheets."""
