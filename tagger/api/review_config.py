"""Reviewer tokens and where the label store is: read from the environment once, by the app
factory, and kept in the app's state (:mod:`tagger.api.context`) for the review routes.

Tokens come from ``TAGGER_REVIEW_TOKENS`` (``name=token,name=token``) and/or
``TAGGER_REVIEW_TOKENS_FILE`` (one ``name=token`` a line, ``#`` comments), separate from the
admin token. With none configured every review route answers 404, as if absent. The store
(``TAGGER_DB``) is opened lazily once per worker process: a database connection pool must not
cross gunicorn's fork. Nothing here knows Flask, so the factory and the views can both use it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tagger.api.errors import ApiError

TOKENS_ENV = "TAGGER_REVIEW_TOKENS"
TOKENS_FILE_ENV = "TAGGER_REVIEW_TOKENS_FILE"


class ReviewConfigError(ValueError):
    """A reviewer token list that cannot be parsed."""


def parse_tokens(text: str, source: str, separator: str = ",") -> dict[str, str]:
    """``{token: name}`` from ``name=token`` pairs."""
    tokens: dict[str, str] = {}
    for number, raw in enumerate(text.split(separator), 1):
        item = raw.split("#", 1)[0].strip() if separator == "\n" else raw.strip()
        if not item:
            continue
        name, sep, token = (part.strip() for part in item.partition("="))
        where = f"{source}:{number}" if separator == "\n" else source
        if not sep or not name or not token:
            raise ReviewConfigError(f"{where}: expected name=token")
        if len(token) < 8:
            raise ReviewConfigError(f"{where}: the token of {name!r} is shorter than 8 "
                                    "characters")
        tokens[token] = name
    return tokens


@dataclass
class ReviewSettings:
    tokens: dict[str, str]
    db: str | None
    _stores: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def store(self):
        """This process's store (opened, and migrated, on first use)."""
        from tagger.store import StoreError, open_store

        pid = os.getpid()
        with self._lock:
            if pid not in self._stores:
                try:
                    self._stores[pid] = open_store(self.db)
                except StoreError as error:
                    raise ApiError(503, "The label store is not available.",
                                   code="store_unavailable",
                                   details={"reason": str(error)}) from None
            return self._stores[pid]


def load_settings(environ: dict | None = None) -> ReviewSettings:
    env = os.environ if environ is None else environ
    tokens: dict[str, str] = {}
    if env.get(TOKENS_ENV):
        tokens |= parse_tokens(env[TOKENS_ENV], TOKENS_ENV)
    if env.get(TOKENS_FILE_ENV):
        path = Path(env[TOKENS_FILE_ENV])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ReviewConfigError(f"{path}: cannot read reviewer tokens: {error}") from None
        tokens |= parse_tokens(text, str(path), separator="\n")
    return ReviewSettings(tokens=tokens, db=env.get("TAGGER_DB") or None)
