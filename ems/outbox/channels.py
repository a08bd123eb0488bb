"""Receivers (configuration) and one sender per channel: ``wecom``, ``dingtalk``, ``email``, ``city_platform``.

A sender takes the queued body and either returns (delivered) or raises :class:`DeliveryError`
with a message that never contains a webhook key, token or password.
"""

from __future__ import annotations

import json
import smtplib
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage

import httpx
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ems.outbox.robots import dingtalk_url

Sender = Callable[[str, str], None]
"""(dedup_key, body) -> None; raises DeliveryError."""

CHANNELS = ("wecom", "dingtalk", "email", "city_platform")
ALERT_CHANNELS = ("wecom", "dingtalk", "email")


class DeliveryError(Exception):
    """A receiver refused a message or could not be reached; the message stays queued."""


class ReceiverNotConfigured(DeliveryError):
    """A queued message's channel has no configured receiver (kept until one is configured)."""


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Receivers(BaseSettings):
    """Where messages go (environment ``EMS_NOTIFY_*``). A channel without settings is off."""

    model_config = SettingsConfigDict(env_prefix="EMS_NOTIFY_", env_file=None, extra="ignore")

    wecom_url: SecretStr | None = Field(default=None, description="WeCom group robot webhook URL (holds its key)")
    dingtalk_url: SecretStr | None = Field(default=None, description="DingTalk robot webhook URL (access_token)")
    dingtalk_secret: SecretStr | None = Field(default=None, description="DingTalk robot signing secret (SEC...)")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "ems@localhost"
    smtp_to: list[str] = Field(default=[], description="alert e-mail recipients")
    city_url: SecretStr | None = Field(default=None, description="city carbon platform push endpoint (HTTPS)")
    city_token: SecretStr | None = Field(default=None, description="bearer token the platform issued to the park")
    timeout_s: float = 10.0

    @field_validator("city_url", "wecom_url", "dingtalk_url")
    @classmethod
    def _https(cls, v: SecretStr | None) -> SecretStr | None:
        # cleartext HTTP would expose the keys in the URL and the park's data: loopback only (tests, a local relay)
        if v is not None:
            u = urllib.parse.urlsplit(v.get_secret_value())
            if u.scheme != "https" and not (u.scheme == "http" and u.hostname in _LOOPBACK):
                raise ValueError("receiver URLs must use https (plain http only to a loopback address)")
        return v

    def configured(self) -> list[str]:
        """Channels with a receiver, in :data:`CHANNELS` order."""
        on = {
            "wecom": self.wecom_url is not None,
            "dingtalk": self.dingtalk_url is not None,
            "email": self.smtp_host is not None and bool(self.smtp_to),
            "city_platform": self.city_url is not None,
        }
        return [c for c in CHANNELS if on[c]]

    def secrets(self) -> list[str]:
        out = [s.get_secret_value() for s in (self.wecom_url, self.dingtalk_url, self.dingtalk_secret) if s]
        out += [s.get_secret_value() for s in (self.smtp_password, self.city_url, self.city_token) if s]
        return out


def _redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


def _post(client: httpx.Client, url: str, body: str, headers: dict[str, str], secrets: list[str]) -> httpx.Response:
    try:
        resp = client.post(
            url,
            content=body.encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", **headers},
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(_redact(f"{type(exc).__name__}: {exc}", secrets)) from None
    if not 200 <= resp.status_code < 300:
        raise DeliveryError(f"HTTP {resp.status_code}")
    return resp


def _robot_answer(resp: httpx.Response) -> None:
    """Both robots answer HTTP 200 with ``errcode`` (0 = accepted; e.g. 45009 / 130101 = rate limited)."""
    try:
        answer = resp.json()
    except ValueError:
        raise DeliveryError("robot answered with something other than JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        raise DeliveryError(f"robot refused the message: {answer!r}"[:300])


def senders(rc: Receivers) -> dict[str, Sender]:
    """One sender per configured channel. They share one HTTP client: a client per message costs a TLS
    context each (0.5 s on a loaded machine; benchmarks/outbox.py)."""
    secrets = rc.secrets()
    client = httpx.Client(timeout=rc.timeout_s)
    out: dict[str, Sender] = {}
    if rc.wecom_url is not None:
        wecom = rc.wecom_url.get_secret_value()

        def send_wecom(_: str, body: str) -> None:
            _robot_answer(_post(client, wecom, body, {}, secrets))

        out["wecom"] = send_wecom
    if rc.dingtalk_url is not None:
        ding = rc.dingtalk_url.get_secret_value()
        ding_secret = rc.dingtalk_secret.get_secret_value() if rc.dingtalk_secret else None

        def send_dingtalk(_: str, body: str) -> None:
            # signed at send time: DingTalk rejects a timestamp more than an hour off its clock
            url = dingtalk_url(ding, ding_secret, int(time.time() * 1000))
            _robot_answer(_post(client, url, body, {}, secrets))

        out["dingtalk"] = send_dingtalk
    if "email" in rc.configured():
        out["email"] = lambda _, body: _send_mail(rc, body, secrets)
    if rc.city_url is not None:
        city = rc.city_url.get_secret_value()
        auth = {"Authorization": f"Bearer {rc.city_token.get_secret_value()}"} if rc.city_token else {}

        def send_city(key: str, body: str) -> None:
            # the platform de-duplicates retries by this key (delivery is at least once)
            _post(client, city, body, {**auth, "Idempotency-Key": key}, secrets)

        out["city_platform"] = send_city
    return out


def mail_body(subject: str, text: str) -> str:
    """The queued form of an e-mail (JSON: subject and plain text)."""
    return json.dumps({"subject": subject, "text": text}, ensure_ascii=False)


def _send_mail(rc: Receivers, body: str, secrets: list[str]) -> None:
    data = json.loads(body)
    msg = EmailMessage()
    msg["From"] = rc.smtp_from
    msg["To"] = ", ".join(rc.smtp_to)
    msg["Subject"] = data["subject"]
    msg.set_content(data["text"])
    assert rc.smtp_host is not None
    try:
        with smtplib.SMTP(rc.smtp_host, rc.smtp_port, timeout=rc.timeout_s) as smtp:
            if rc.smtp_starttls:
                smtp.starttls()
            if rc.smtp_user and rc.smtp_password:
                smtp.login(rc.smtp_user, rc.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(_redact(f"SMTP: {type(exc).__name__}: {exc}", secrets)) from None
