"""ETags kept between runs in the cache database, for conditional requests (If-None-Match).

Table monlab_etags keys on (source, request key), where the request key is the path below the
base URL plus the sorted query parameters. Beside the ETag it keeps the JSON body that came with it
(scrubbed) and the next-page URL, so a 304 response can be served from the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Column, MetaData, String, Table, Text, select
from sqlalchemy.exc import SQLAlchemyError

from monlab.cache import Cache, UTCDateTime
from monlab.errors import CacheError
from monlab.redact import scrub_data

_metadata = MetaData()

etags = Table(
    "monlab_etags",
    _metadata,
    Column("source_system", String(32), primary_key=True),
    Column("request_key", String(1024), primary_key=True),
    Column("etag", String(255), nullable=False),
    Column("body_json", Text, nullable=False),
    Column("next_url", Text),
    Column("stored_at_utc", UTCDateTime, nullable=False),
)


def request_key(path: str, params: dict[str, Any] | None) -> str:
    return path + ("?" + urlencode(sorted((params or {}).items())) if params else "")


@dataclass
class StoredResponse:
    etag: str
    body: Any
    next_url: str | None


class EtagStore:
    """The ETags of one source in one cache; the table is created on first use."""

    def __init__(self, cache: Cache, source: str):
        self.cache = cache
        self.source = source
        try:
            etags.create(cache.engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise CacheError(f"cannot create table monlab_etags: {exc.__class__.__name__}") from None

    def get(self, key: str) -> StoredResponse | None:
        rows = self.cache.read(
            select(etags.c.etag, etags.c.body_json, etags.c.next_url).where(
                etags.c.source_system == self.source, etags.c.request_key == key
            )
        )
        if not rows:
            return None
        return StoredResponse(rows[0]["etag"], json.loads(rows[0]["body_json"]), rows[0]["next_url"])

    def put(self, key: str, etag: str, body: Any, next_url: str | None, stored_at: datetime) -> None:
        values = {
            "etag": etag,
            "body_json": json.dumps(scrub_data(body), sort_keys=True),
            "next_url": next_url,
            "stored_at_utc": stored_at,
        }
        with self.cache.engine.begin() as connection:
            found = connection.execute(
                select(etags.c.etag).where(etags.c.source_system == self.source, etags.c.request_key == key)
            ).first()
            if found is None:
                connection.execute(etags.insert().values(source_system=self.source, request_key=key, **values))
            else:
                connection.execute(
                    etags.update()
                    .where(etags.c.source_system == self.source, etags.c.request_key == key)
                    .values(**values)
                )
