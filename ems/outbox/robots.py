"""Message bodies and the signature of the WeCom and DingTalk group robots (pure functions).

WeCom (企业微信) group robot: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "text", "text": {"content": "..."}}``; the answer ``{"errcode": 0, "errmsg": "ok"}``
means accepted (developer.work.weixin.qq.com/document/path/91770).

DingTalk (钉钉) custom robot: ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with the
same text body; with "加签" (signing) enabled the URL also carries ``timestamp`` (ms) and ``sign``:
``sign = urlencode(base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret)))``
(open.dingtalk.com/document/robots/customize-robot-security-settings). Same ``errcode`` answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse


def text_body(content: str) -> str:
    """The text message body both robots accept, as the exact JSON sent (UTF-8, not ASCII-escaped)."""
    return json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False, separators=(",", ":"))


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's ``sign`` query value (already URL-encoded, as the documentation appends it)."""
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_url(webhook_url: str, secret: str | None, timestamp_ms: int) -> str:
    """The webhook URL with ``timestamp`` and ``sign`` appended when the robot has a signing secret."""
    if not secret:
        return webhook_url
    sep = "&" if "?" in webhook_url else "?"
    return f"{webhook_url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(timestamp_ms, secret)}"
