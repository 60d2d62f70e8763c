"""The OpenAPI document is the contract: schemathesis' own command line (``st run``), every
check, against a real ``tagger serve`` with the shipped model and reviewer and admin tokens set.

Zero failures means both directions hold: nothing the document calls valid is refused
(``positive_data_acceptance``), nothing it calls invalid is accepted
(``negative_data_rejection``), no answer is a 5xx or differs from what the document declares
(status codes, content types, response schemas). The run is bounded (a fixed seed and a
fixed number of examples per operation), so it ends by itself and repeats.
"""

from __future__ import annotations

import json
import re
import subprocess

import jsonschema_rs
import pytest
import requests

from tests.api.conftest import ADMIN_TOKEN, VENV_BIN, serve_api

pytestmark = pytest.mark.slow

REVIEWER_TOKEN = "contract-reviewer-token-51c2"
EXAMPLES = 25  # per operation and phase: about 800 requests, well under a minute
SEED = 1
# The auth sections are named after the document's security schemes, so each operation gets
# the token its scheme names (schemathesis also tries them missing and wrong).
CONFIG = f"""
[auth.openapi.reviewerToken]
bearer = "{REVIEWER_TOKEN}"

[auth.openapi.adminToken]
bearer = "{ADMIN_TOKEN}"
"""


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    env = {"TAGGER_REVIEW_TOKENS": f"tester={REVIEWER_TOKEN}", "TAGGER_ADMIN_TOKEN": ADMIN_TOKEN,
           "TAGGER_DB": str(root / "labels.db")}
    with serve_api(None, root, workers=2, env=env) as server:  # the shipped model
        server.root = root
        yield server


@pytest.fixture(scope="module")
def contract_run(contract_server) -> subprocess.CompletedProcess:
    config = contract_server.root / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return subprocess.run(
        [str(VENV_BIN / "st"), "--config-file", str(config), "run",
         contract_server.url("/openapi.json"), "--checks", "all", "--seed", str(SEED),
         "--max-examples", str(EXAMPLES), "--workers", "1", "--request-timeout", "60",
         "--generation-database", "none", "--no-color"],
        capture_output=True, text=True, cwd=contract_server.root, timeout=1200)


def test_schemathesis_finds_no_failure_in_any_operation(contract_server, contract_run):
    output = contract_run.stdout + contract_run.stderr
    assert contract_run.returncode == 0, output[-6000:]
    spec = requests.get(contract_server.url("/openapi.json"), timeout=30).json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert operations == 18, sorted(spec["paths"])  # admin, review and feed routes are in the run
    assert re.search(rf"Selected: {operations}/{operations}\s+Tested: {operations}", output), \
        output[-3000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 300, \
        output[-3000:]
    # every pattern was used to generate data, none dropped as unreadable
    assert "Unsupported regex" not in output and "Schema Error" not in output, output[-3000:]
    assert contract_server.process.poll() is None, contract_server.log_text()[-3000:]
    log = contract_server.log_text()
    assert '"exc"' not in log and "Traceback" not in log, log[-3000:]  # no hidden error


def test_every_exported_line_matches_the_label_record_schema(contract_server, contract_run):
    """schemathesis cannot read JSON Lines, so the export is checked here, after its run has
    stored papers through /v1/feedback."""
    assert contract_run.returncode == 0
    spec = requests.get(contract_server.url("/openapi.json"), timeout=30).json()
    operation = spec["paths"]["/v1/labels/export"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["application/x-ndjson"]
    validator = jsonschema_rs.validator_for(spec["components"]["schemas"]["LabelRecord"])
    response = requests.get(contract_server.url("/v1/labels/export"), timeout=60,
                            headers={"Authorization": f"Bearer {REVIEWER_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    assert lines, "the run stored no labelled paper"
    for line in lines:
        validator.validate(json.loads(line))
