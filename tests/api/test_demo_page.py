"""The demo page in a real headless browser: Debian's ``chromium`` driven by Playwright (no
browser download; ``scripts/install_system_deps.sh`` installs it in CI). A user pastes a title
and an abstract, clicks, and sees the API's tags as chips and the evidence highlighted."""

from __future__ import annotations

import os
import re
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



def test_an_example_fills_the_form_and_chips_show_the_margin_over_the_decision_point(api, page):
    page.goto(api.url("/"))
    page.click("[data-example='0']")
    page.wait_for_function("document.getElementById('meta').textContent.startsWith('model')")
    assert page.input_value("#abstract").startswith("We adapt a selective state space model")
    assert not page.is_disabled("#tag-button")  # the loading state is over
    chips = page.locator("#chips .chip")
    for i in range(chips.count()):
        score = float(chips.nth(i).get_attribute("data-score"))
        assert f"+{score - 0.5:.2f}" in chips.nth(i).inner_text()
        assert "above the decision point 0.5" in chips.nth(i).get_attribute("title")
    if chips.count():  # evidence is listed with its weights
        assert "weight" in page.inner_text("#evidence")
    if os.environ.get("TAGGER_SCREENSHOTS_DIR"):  # docs/img/demo.png (see docs/review.md)
        page.set_viewport_size({"width": 1000, "height": 900})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(os.environ["TAGGER_SCREENSHOTS_DIR"]) / "demo.png"))
    # The legend holds every theme's description.
    themes = requests.get(api.url("/v1/themes"), timeout=30).json()["themes"]
    page.click("#legend summary")
    assert page.locator("#legend dt").count() == len(themes)
    assert themes[0]["description"] in page.inner_text("#legend")


def test_errors_are_sentences_not_schema_dumps_and_the_model_line_is_cleared(api, page):
    page.goto(api.url("/"))
    page.click("[data-example='1']")
    page.wait_for_function("document.getElementById('meta').textContent.startsWith('model')")
    page.fill("#abstract", "x" * 5001)  # over this server's TAGGER_MAX_ABSTRACT_CHARS
    page.click("#tag-button")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    message = page.inner_text("#error")
    assert re.match(r"(The abstract is too long|Abstract is longer than).*5,?000", message)
    assert "{" not in message and page.inner_text("#meta") == ""
    assert page.locator("#chips .chip").count() == 0


def test_favicon_is_served(api):
    response = requests.get(api.url("/favicon.ico"), timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_fit_a_phone_screen(api, page, path):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(api.url(path))
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_docs_are_readable_and_interactive_offline(api, page):
    page.goto(api.url("/docs"))
    page.wait_for_selector("#swagger-ui .opblock")  # Swagger UI rendered the document
    text = page.inner_text("#reference")
    assert "`" not in text and '{"' not in text  # no literal backticks or JSON blobs
    assert "at most 5000 characters" in text
    assert "/v1/admin/reload" in text  # this server has an admin token
    assert "/v1/feedback" not in page.content()  # ... but no reviewer tokens
    assert all(url.startswith(api.base_url) for url in page.requests_seen)
