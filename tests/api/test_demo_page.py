"""The demo page in a real headless browser: Debian's ``chromium`` driven by Playwright (no
browser download; ``scripts/install_system_deps.sh`` installs it in CI). A user pastes a title
and an abstract, clicks, and sees the API's tags as chips and the evidence highlighted."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
# Generated text in the vocabulary of the test corpus (tests/conftest.py), no real abstract.
TITLE = "Seasonal forecasting of sensor time series"
ABSTRACT = ("We propose a forecasting method for time series that models seasonal temporal "
            "patterns of sensor data over a long horizon and show robust results on benchmark "
            "data.")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (Debian package 'chromium'; "
                    "scripts/install_system_deps.sh installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.requests_seen = requests_seen  # type: ignore[attr-defined]
    yield page
    context.close()


def test_pasting_an_abstract_shows_tag_chips_and_highlighted_evidence(api, page):
    expected = requests.post(api.url("/v1/tag"), timeout=30, json={
        "title": TITLE, "abstract": ABSTRACT, "explain": True}).json()
    assert expected["tags"], "the fixture text should get at least one tag"

    page.goto(api.url("/"))
    page.fill("#title", TITLE)
    page.fill("#abstract", ABSTRACT)
    page.click("#tag-button")
    page.wait_for_selector("#chips .chip")

    chips = page.locator("#chips .chip")
    shown = [chips.nth(i).get_attribute("data-theme") for i in range(chips.count())]
    assert shown == [tag["theme"] for tag in expected["tags"]]
    first = chips.first.inner_text()
    assert expected["tags"][0]["label"] in first
    assert f"{expected['tags'][0]['score']:.2f}" in first

    assert page.is_visible("#highlighted")
    marks = page.locator("#highlighted mark")
    assert marks.count() > 0
    highlighted = [marks.nth(i).inner_text().lower() for i in range(marks.count())]
    evidence = [record["text"].lower() for records in expected["evidence"].values()
                for record in records]
    # Each highlight is (a piece of, where spans overlap) a phrase the API gave as evidence.
    assert all(any(mark in phrase for phrase in evidence) for mark in highlighted), (
        highlighted, evidence)
    assert page.inner_text("#error") == ""
    # Self-contained: everything the page loaded came from the server itself.
    assert all(url.startswith(api.base_url) for url in page.requests_seen)


def test_a_blank_abstract_shows_the_api_error_and_no_chips(api, page):
    page.goto(api.url("/"))
    page.fill("#abstract", "   ")
    # The textarea is `required`; the browser refuses to submit empty but not blank text.
    page.click("#tag-button")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "abstract" in page.inner_text("#error").lower()
    assert page.locator("#chips .chip").count() == 0

