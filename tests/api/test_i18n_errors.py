"""API error messages in the request's language (issue 18): over HTTP against a real server.

Expected Chinese texts are typed here from the zh-CN catalogue's intent, not read from it, so a
broken lookup, a missing entry or a lost placeholder fails.
"""

from __future__ import annotations

import httpx

from ems.park import Park
from ems.store import Store

from .conftest import Api, make_api

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_errors_follow_accept_language(api: Api) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as anon:
        en = anon.get("/v1/park")
        zh = anon.get("/v1/park", headers=ZH)
        assert (en.status_code, en.json()["detail"]) == (401, "missing bearer API key")
        assert (zh.status_code, zh.json()["detail"]) == (401, "缺少 Bearer API 密钥")
        assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
        assert zh.headers["www-authenticate"] == "Bearer"  # headers of the original error kept
        bad = anon.get("/v1/park", headers={**ZH, "Authorization": "Bearer ems_nope_nope"})
        assert bad.json()["detail"] == "API 密钥无效或已被吊销"
    with api.client("gateway") as gw:
        r = gw.get("/v1/park", headers=ZH)
        assert r.status_code == 403
        assert r.json()["detail"] == "角色 'gateway' 无权使用此接口（允许的角色：['admin', 'auditor', 'operator']）"
    with api.client("operator") as op:
        # the project's own validation refusal, with its placeholder filled
        q = "start=2026-06-01T00:00:00%2B08:00&end=2026-06-01T00:00:00%2B08:00"
        r = op.get(f"/v1/schedules/plan-vs-actual?{q}", headers={"Accept-Language": "zh"})
        assert (r.status_code, r.json()["detail"]) == (400, "开始时间须早于结束时间")
        r = op.get("/v1/schedules/987654", headers=ZH)
        assert r.json()["detail"] == "没有调度计划 987654"
        # the guard (ASGI middleware, before any route): NUL in the query, in the request's language
        r = op.get("/v1/park?x=%00", headers=ZH)
        assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "查询字符串含有 NUL 字符"
        r = op.get("/v1/park?x=%00", headers={"Accept-Language": "fr, en;q=0.1"})
        assert r.json()["detail"][0]["msg"] == "query contains a NUL character"
        # a language we do not have (and q=0 for zh) falls back to the park's default, English
        r = op.get("/v1/schedules/987654", headers={"Accept-Language": "de, zh;q=0"})
        assert r.json()["detail"] == "no schedule 987654"
        # FastAPI's request validation (pydantic's 422): msg by error type in Chinese, type and loc kept
        r = op.get("/v1/schedules/abc", headers=ZH)
        (err,) = r.json()["detail"]
        assert r.status_code == 422 and r.headers["content-language"] == "zh-CN"
        assert (err["type"], err["loc"], err["msg"]) == ("int_parsing", ["path", "schedule_id"], "须为整数")
        r = op.get("/v1/schedules/abc")
        assert r.json()["detail"][0]["msg"] == "Input should be a valid integer, unable to parse string as an integer"


def test_park_language_is_the_default(store: Store, tiny_park: Park) -> None:
    api = make_api(store, tiny_park.model_copy(update={"language": "zh-CN"}), max_body_bytes=1000)
    try:
        with httpx.Client(base_url=api.url, timeout=30) as anon:
            assert anon.get("/v1/park").json()["detail"] == "缺少 Bearer API 密钥"
            en = anon.get("/v1/park", headers={"Accept-Language": "en-GB"})
            assert en.json()["detail"] == "missing bearer API key"
            # body limit refused by the guard, in the park's language
            big = anon.post("/v1/keys", content=b"x" * 1001, headers={"Content-Type": "text/plain"})
            assert big.status_code == 413 and big.json()["detail"].startswith("请求体超过 ")
        with api.client("operator") as op:
            assert op.get("/v1/park").json()["language"] == "zh-CN"
    finally:
        api.server.stop()
