"""The label store: papers to review and every review decision, in SQLite or PostgreSQL.

Not part of the core: it may import the core (corpus, taxonomy), the core never imports it.
Open one with :func:`open_store`; the schema is migrated (Alembic, versions in
``tagger/store/migrations``) every time a store is opened.
"""

from tagger.store.db import StoreError, database_url
from tagger.store.labels import ACTIONS, Decision, LabelStore, Paper
from tagger.store.opening import open_store

__all__ = ["ACTIONS", "Decision", "LabelStore", "Paper", "StoreError", "database_url",
           "open_store"]
