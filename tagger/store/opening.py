"""Opening a label store: the one place that joins the engine (:mod:`tagger.store.db`) and
the store API (:mod:`tagger.store.labels`), so neither of those imports the other's user."""

from __future__ import annotations

import os

from sqlalchemy.exc import SQLAlchemyError

from tagger.store.db import StoreError, database_url, make_engine, migrate
from tagger.store.labels import LabelStore


def open_store(db: str | os.PathLike | None = None) -> LabelStore:
    """Open (creating and migrating as needed) the store named by ``db`` / ``$TAGGER_DB``."""
    url = database_url(db)
    engine = make_engine(url)
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreError(f"cannot open the label store {engine.url!r}: "
                         f"{error.__class__.__name__}: {error.orig or error}"
                         if hasattr(error, "orig") else str(error)) from None
    except OSError as error:
        engine.dispose()
        raise StoreError(f"cannot open the label store: {error}") from None
    return LabelStore(engine)
