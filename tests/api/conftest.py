"""API test helpers: a token for any demo user (made through the tokens service, as the tokens page does),
and a client that sends it, with a fresh Idempotency-Key on each POST unless one is given."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from finance.api import tokens
from finance.extensions import db as ext_db
from tests import factories as f


def make_token(username: str, days: int = 30) -> str:
    user = f.user(username)
    _row, secret = tokens.create_token(user, f"test {username}", days, by=user)
    ext_db.session.commit()
    return secret


class ApiClient:
    """The app's test client speaking to /api/v1 as one token."""

    def __init__(self, client: Any, secret: str | None) -> None:
        self.client, self.secret = client, secret

    def headers(self, extra: dict[str, str] | None = None, key: str | None = None, post: bool = False
                ) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        if post:
            out["Idempotency-Key"] = key or uuid.uuid4().hex
        out.update(extra or {})
        return out

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json: Any = None, key: str | None = None, **kwargs: Any) -> Any:
        headers = self.headers(kwargs.pop("headers", None), key=key, post=True)
        if "data" in kwargs:
            return self.client.post("/api/v1" + path, headers=headers, csrf=False, **kwargs)
        return self.client.post("/api/v1" + path, json=json if json is not None else {}, headers=headers,
                                csrf=False, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.put("/api/v1" + path, json=json, headers=self.headers(kwargs.pop("headers", None)),
                               **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete("/api/v1" + path, headers=self.headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def as_user(app: Flask, db: Any, make_client: Any) -> Any:
    """as_user("dy_baozhang") -> an ApiClient with a fresh token of that user."""

    def factory(username: str | None) -> ApiClient:
        return ApiClient(make_client(), make_token(username) if username else None)

    return factory
