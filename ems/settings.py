"""Settings from the environment (prefix ``EMS_``) and an optional file; passed explicitly, never global."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ems.documents.signing import Signer, load_signer
from ems.documents.timestamp import TimestampAuthority
from ems.quantities import EARLIEST_READING


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMS_", env_file=None, extra="ignore")

    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL; unset = start an embedded server under data_dir"
    )
    data_dir: Path = Field(default=Path("var"), description="embedded database, spool, reports, hash chain")
    park_file: Path | None = Field(default=None, description="park description; unset = the demo park")
    ingest_max_future_s: float = 300.0
    ingest_late_window_s: float | None = Field(default=None, description="reject readings older than this")
    ingest_min_time: dt.datetime = Field(
        default=EARLIEST_READING, description="reject readings stamped before this instant (device clock resets)"
    )
    rollup_max_gap_s: float = Field(default=120.0, description="a power sample holds at most this long")
    embedded_log_rotation_mb: float = Field(
        default=10.0, gt=0, description="embedded server: start a new log file past this size (MB)"
    )
    embedded_log_files: int = Field(default=10, ge=1, description="embedded server: log files kept")
    environment: Literal["development", "test", "production"] = Field(
        default="development", description="'production' refuses unsafe settings (ems.production)"
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    tls_certfile: Path | None = Field(default=None, description="PEM certificate: the API serves HTTPS itself")
    tls_keyfile: Path | None = Field(default=None, description="PEM private key for tls_certfile")
    behind_proxy: bool = Field(
        default=False, description="a TLS-terminating reverse proxy forwards to the API (trust X-Forwarded-*)"
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="with behind_proxy: the proxy's addresses (comma-separated) whose X-Forwarded-* headers are "
        "trusted; a client reaching the API directly cannot set its own address or scheme",
    )
    max_body_bytes: int = Field(default=16 * 1024 * 1024, description="request body limit, also after decompression")
    max_batch_rows: int = Field(default=100_000, description="readings per telemetry request")
    rate_limit_per_s: float = Field(default=200.0, description="sustained requests per second per key")
    rate_limit_burst: int = 400
    auth_failures_burst: int = Field(
        default=20, description="failed authentications a client address may make at once before 429"
    )
    auth_failures_per_min: float = Field(default=10.0, description="failed authentications per minute sustained")
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="a request body must arrive whole within this time, or 408"
    )
    cors_origins: list[str] = Field(default=[], description="CORS is off unless origins are listed")
    stream_poll_s: float = Field(default=2.0, gt=0, description="/v1/stream: how often the store is polled for changes")
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="/v1/stream: a comment line after this much silence"
    )
    stream_max_age_s: float = Field(
        default=600.0, gt=0, description="/v1/stream: a stream ends after this (clients reconnect)"
    )
    stream_max_clients: int = Field(default=50, ge=1, description="/v1/stream: concurrent streams; more get 503")
    report_signing_key_file: Path | None = Field(
        default=None, description="Ed25519 PKCS#8 PEM key signing this park's chain entries (ems/documents/signing.py)"
    )
    report_signing_key: SecretStr | None = Field(default=None, description="the same PEM as a secret (env)")
    tsa_url: str | None = Field(default=None, description="RFC 3161 time-stamping authority for chain entries")
    tsa_roots_file: Path | None = Field(default=None, description="PEM roots a timestamp token's signer must chain to")

    @field_validator(
        "tls_certfile",
        "tls_keyfile",
        "database_url",
        "park_file",
        "report_signing_key_file",
        "tsa_url",
        "tsa_roots_file",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        # compose passes unset variables as "" (``${VAR:-}``): that means "not configured"
        return None if isinstance(v, str) and not v.strip() else v

    def report_signer(self) -> Signer | None:
        """The configured chain-entry signer, or None (SigningKeyError, without key material, if unusable)."""
        pem = self.report_signing_key.get_secret_value() if self.report_signing_key else None
        return load_signer(self.report_signing_key_file, pem)

    def timestamp_authority(self) -> TimestampAuthority | None:
        """The configured RFC 3161 authority (with its trusted roots), or None."""
        return TimestampAuthority.configured(self.tsa_url, self.tsa_roots_file)

    def database_url_plain(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None
