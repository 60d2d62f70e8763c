"""The paper stream: papers go in once (``tagger ingest``), are tagged by the current model
and rescored by the next (``tagger retag``), and come out per theme as Atom feeds (the API)
and as a daily digest (``tagger digest``).

A layer beside the review loop: it stores into the label store's database (same engine, same
write lock, its own tables from migration 0002) and reads the review decisions, which
override the model's tags. It may import the core, the bulk engines and ``tagger.store``;
none of those imports it.
"""
