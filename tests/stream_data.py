"""Made-up papers in the layouts the paper stream reads: JSON Lines, CSV, the Kaggle arXiv
snapshot, and arXiv's Atom (export API) and RSS 2.0 listings. Generated text only: no
abstract from ../shared goes into the repo."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from xml.sax.saxutils import escape

from tests.conftest import make_labelled_corpus


def papers(n: int, seed: int = 3, first: int = 1) -> list[dict]:
    """``n`` generated papers with arXiv ids ``arxiv:2612.NNNNN`` and months."""
    out = []
    for k, record in enumerate(make_labelled_corpus(n=n, seed=seed)):
        number = first + k
        out.append({"id": f"arxiv:2612.{number:05d}", "title": record["title"],
                    "abstract": record["abstract"], "month": "2026-12",
                    "categories": ["cs.LG", "stat.ML"], "tags": record["tags"]})
    return out


def write_jsonl(path: Path, records: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps({k: v for k, v in r.items() if k != "tags"}) + "\n"
                   for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, records: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "title", "abstract", "month", "categories"])
    for r in records:
        writer.writerow([r["id"], r["title"], r["abstract"], r["month"], " ".join(r["categories"])])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def kaggle_line(record: dict) -> str:
    """The snapshot's layout: bare id, space-separated categories, versions, authors."""
    return json.dumps({
        "id": record["id"].removeprefix("arxiv:"), "submitter": "A. Author",
        "authors": "A. Author, B. Author", "title": "  " + record["title"] + "\n  ",
        "comments": "12 pages", "journal-ref": None, "doi": None, "report-no": None,
        "categories": " ".join(record["categories"]), "license": None,
        "abstract": "  " + record["abstract"] + "\n", "versions": [
            {"version": "v1", "created": "Tue, 1 Dec 2026 18:00:00 GMT"},
            {"version": "v2", "created": "Thu, 3 Dec 2026 10:00:00 GMT"}],
        "update_date": "2026-12-03",
        "authors_parsed": [["Author", "A.", ""], ["Author", "B.", ""]]}) + "\n"


def atom_listing(records: list[dict], broken_entry: bool = False) -> str:
    """An arXiv export-API answer (Atom 1.0 with arXiv's extension elements)."""
    entries = []
    for r in records:
        bare = r["id"].removeprefix("arxiv:")
        entries.append(f"""  <entry>
    <id>http://arxiv.org/abs/{bare}v1</id>
    <updated>2026-12-01T18:00:00Z</updated>
    <published>2026-12-01T18:00:00Z</published>
    <title>{escape(r["title"])}</title>
    <summary>  {escape(r["abstract"])}
</summary>
    <author><name>A. Author</name></author>
    <arxiv:comment>9 pages</arxiv:comment>
    <link href="http://arxiv.org/abs/{bare}v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{bare}v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="stat.ML" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
""")
    if broken_entry:  # an entry without its abstract
        entries.append("""  <entry>
    <id>http://arxiv.org/abs/2612.99999v1</id>
    <published>2026-12-01T18:00:00Z</published>
    <title>No abstract here</title>
  </entry>
""")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
            '  <id>https://arxiv.org/api/made-up-query</id>\n'
            '  <title>arXiv Query: search_query=cat:cs.LG</title>\n'
            '  <updated>2026-12-02T00:00:00-05:00</updated>\n'
            f'  <opensearch:totalResults>{len(records)}</opensearch:totalResults>\n'
            + "".join(entries) + "</feed>\n")


def rss_listing(records: list[dict]) -> str:
    """rss.arxiv.org's daily RSS 2.0 listing ("Announce Type" before each abstract)."""
    items = []
    for r in records:
        bare = r["id"].removeprefix("arxiv:")
        items.append(f"""<item><title>{escape(r["title"])}</title>
<link>https://arxiv.org/abs/{bare}</link>
<description>arXiv:{bare}v1 Announce Type: new
Abstract: {escape(r["abstract"])}</description>
<guid isPermaLink="false">oai:arXiv.org:{bare}v1</guid>
<category>cs.LG</category><category>stat.ML</category>
<pubDate>Wed, 02 Dec 2026 00:00:00 -0500</pubDate>
<arxiv:announce_type>new</arxiv:announce_type>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:creator>A. Author, B. Author</dc:creator></item>
""")
    return ('<?xml version=\'1.0\' encoding=\'UTF-8\'?>\n'
            '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>'
            '<title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG</link>'
            '<description>cs.LG updates</description>'
            '<atom:link href="https://rss.arxiv.org/atom/cs.LG" rel="self" '
            'type="application/rss+xml"/><language>en-us</language>'
            '<pubDate>Wed, 02 Dec 2026 00:00:00 -0500</pubDate>\n'
            + "".join(items) + "</channel></rss>\n")
