"""Exchange with the municipal "dual carbon" platform: hourly figures of the park and each tenant
(:mod:`ems.exchange.payload`, schema ``docs/schemas/city-exchange-v1.schema.json``), pushed through
the outbox (:mod:`ems.exchange.push`) and served by ``GET /v1/exchange/hourly``."""
