"""Production mode: the settings a production deployment must not run with.

``EMS_ENVIRONMENT=production`` turns these checks on; every long-running service (API, poller,
dispatcher) calls :func:`refuse_unsafe` before it opens anything. Each problem names the setting
to change, never its secret value.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict

from ems.park import Park
from ems.setpoints import CONTROLLABLE, setpoint_range
from ems.settings import Settings

# Passwords that ship in examples or that installers default to: never valid in production.
PLACEHOLDER_PASSWORDS = frozenset({"", "change_me", "changeme", "password", "postgres", "secret", "ems", "admin"})


class UnsafeForProduction(RuntimeError):
    """Raised with every problem found; the message lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start in production mode:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Listener:
    """Where a service accepts connections (the API); ``None`` for services that listen nowhere."""

    host: str
    tls: bool
    behind_proxy: bool


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def production_problems(settings: Settings, park: Park | None = None, listener: Listener | None = None) -> list[str]:
    """Every reason the given settings are unsafe for production (empty when safe or not in production)."""
    if settings.environment != "production":
        return []
    problems: list[str] = []
    url = settings.database_url_plain()
    if not url:
        problems.append(
            "EMS_DATABASE_URL is not set: production needs its own PostgreSQL/TimescaleDB server, "
            "not the embedded development server"
        )
    else:
        try:
            info = conninfo_to_dict(url)
        except Exception:  # psycopg raises ProgrammingError with the URL in it: do not echo the secret
            problems.append("EMS_DATABASE_URL is not a valid PostgreSQL connection URL")
        else:
            password = str(info.get("password") or "")
            if password.strip().lower() in PLACEHOLDER_PASSWORDS:
                problems.append(
                    "EMS_DATABASE_URL has a missing or placeholder password (e.g. CHANGE_ME from the example env "
                    "file): set a real secret"
                )
    if settings.behind_proxy and "*" in settings.forwarded_allow_ips:
        problems.append(
            "EMS_FORWARDED_ALLOW_IPS contains '*': any client could set its own X-Forwarded-For (and evade the "
            "per-address limit on failed logins); name the proxy's address"
        )
    if "*" in settings.cors_origins:
        problems.append("EMS_CORS_ORIGINS contains '*': list the dashboard origins explicitly")
    if listener is not None and not _is_loopback(listener.host) and not (listener.tls or listener.behind_proxy):
        problems.append(
            f"EMS_API_HOST={listener.host} is not a loopback address and neither TLS (EMS_TLS_CERTFILE and "
            "EMS_TLS_KEYFILE) nor a TLS-terminating proxy (EMS_BEHIND_PROXY=true) is configured"
        )
    if settings.tls_certfile is not None and not settings.tls_certfile.is_file():
        problems.append(f"EMS_TLS_CERTFILE={settings.tls_certfile} does not exist")
    if settings.tls_keyfile is not None and not settings.tls_keyfile.is_file():
        problems.append(f"EMS_TLS_KEYFILE={settings.tls_keyfile} does not exist")
    if (settings.tls_certfile is None) != (settings.tls_keyfile is None):
        problems.append("EMS_TLS_CERTFILE and EMS_TLS_KEYFILE must be set together")
    if park is not None:
        for i, dev in enumerate(park.devices):
            if dev.control.enabled and setpoint_range(dev) is None:
                problems.append(
                    f"park file devices[{i}] ({dev.id}): control.enabled on a {dev.type}, which has no rating "
                    f"the setpoint writer can clamp to; only {CONTROLLABLE} can be controlled"
                )
    return problems


def refuse_unsafe(settings: Settings, park: Park | None = None, listener: Listener | None = None) -> None:
    """Raise :class:`UnsafeForProduction` naming every unsafe setting (no-op outside production)."""
    problems = production_problems(settings, park, listener)
    if problems:
        raise UnsafeForProduction(problems)
