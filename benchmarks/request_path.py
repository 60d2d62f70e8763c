"""Where the CPU time of one ``POST /v1/tag`` goes, in process (no HTTP, no other load's
noise in the split): the bare Flask echo app, the tagger app with the model stubbed out (the
framework part: schemas, JSON body and response, request id, metrics) and ``Tagger.tag`` on
one abstract (the model). CPU time per request, best of ``--repeat`` passes over real
abstracts from ``../shared`` (read at run time). ``Tagger.tag`` is measured on both
single-abstract paths: the compiled one the API uses (``tagger.compiled``) and the string
path a one-shot CLI run uses.

    .venv/bin/python benchmarks/request_path.py [--documents 200] [--repeat 3] [--profile]

The extra row "Tagger.tag, caches flushed" reads a 32 MB buffer before each abstract (not
timed): in the server the CPU caches are shared with the other worker and the load generator,
so an abstract rarely finds the model's tables where the previous one left them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

from _common import SHIPPED_MODEL, UNLABELLED, read_documents


def flushed(tagger, docs: list[dict], repeat: int) -> float:
    """CPU ms of ``Tagger.tag`` on one abstract when the caches were flushed just before
    (best of ``repeat`` passes; the flushing itself is not timed)."""
    import numpy as np

    from tagger.corpus import Document

    buffer = np.ones(4_000_000)  # 32 MB, more than this machine's last-level cache
    best = float("inf")
    for _ in range(repeat):
        spent = 0.0
        for d in docs:
            buffer.sum()
            started = time.process_time()
            tagger.tag([Document(id=d["id"], title=d["title"], abstract=d["abstract"].strip())])
            spent += time.process_time() - started
        best = min(best, spent / len(docs))
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the app with the real model")
    args = parser.parse_args(argv)
    os.environ["TAGGER_MODEL"] = str(args.model)
    os.environ["TAGGER_ACCESS_LOG"] = "off"

    import echo_app

    from tagger.api import create_app
    from tagger.api.bridge import _environ
    from tagger.api.context import holder_of
    from tagger.corpus import Document

    app = create_app()
    docs = read_documents(UNLABELLED, args.documents)
    bodies = [json.dumps(doc).encode() for doc in docs]
    tagger = holder_of(app).tagger

    def call(wsgi, body: bytes) -> bytes:
        scope = {"type": "http", "method": "POST", "path": "/v1/tag", "query_string": b"",
                 "http_version": "1.1", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 5),
                 "headers": [(b"host", b"x"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        statuses = []
        data = b"".join(wsgi(_environ(scope, body), lambda s, h, e=None: statuses.append(s)))
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{statuses[0]}: {data[:200]!r}")
        return data

    def bench(fn) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            for body, doc in zip(bodies, docs, strict=True):
                fn(body, doc)
            best = min(best, (time.process_time() - started) / len(bodies))
        return best * 1000

    def tag_one(b, d) -> None:
        tagger.tag([Document(id=d["id"], title=d["title"], abstract=d["abstract"].strip())])

    estimator = tagger.estimator
    assert "compiled_scorer_" in estimator.__dict__, "the app compiles single-abstract scoring"
    rows = {
        "bare Flask echo app": bench(lambda b, d: call(echo_app.wsgi, b)),
        "tagger app (real model)": bench(lambda b, d: call(app, b)),
        "Tagger.tag, one abstract (compiled: the API's path)": bench(tag_one),
        "Tagger.tag, compiled, caches flushed before each abstract":
            flushed(tagger, docs, args.repeat),
    }
    scorer = estimator.__dict__.pop("compiled_scorer_")  # the string path, as the CLI runs
    rows["Tagger.tag, one abstract (string path: the CLI's)"] = bench(tag_one)
    rows["Tagger.tag, string path, caches flushed"] = flushed(tagger, docs, args.repeat)
    rows["tagger app, string path"] = bench(lambda b, d: call(app, b))
    estimator.__dict__["compiled_scorer_"] = scorer
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for body in bodies:
            call(app, body)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    canned = tagger.tag([Document(id="x", title=docs[0]["title"],
                                  abstract=docs[0]["abstract"])])
    tagger.tag = lambda documents, **kw: copy.deepcopy(canned)
    rows["tagger app, model stubbed (framework)"] = bench(lambda b, d: call(app, b))
    print(f"{len(bodies)} abstracts, best of {args.repeat}, CPU ms per request:\n")
    print("| part | CPU per request |\n| --- | --- |")
    for name, ms in rows.items():
        print(f"| {name} | {ms:.3f} ms |")
    print(f"\nload average (1 min): {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
