"""Make ``docs/img/digest-375.png``: the HTML digest as a phone shows it (375 px wide, headless
Debian Chromium through Playwright), from a real run of the commands the docs show:

    tagger ingest PAPERS --db TMP/stream.db     (the shipped model)
    tagger digest --themes ... --since 1d --format html -o TMP/digest.html

on the made-up papers below (written for this script: no real abstract, and the ids are not
real arXiv papers). Rerun: ``.venv/bin/python scripts/digest_screenshot.py [--out PNG]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TAGGER = str(Path(sys.executable).parent / "tagger")
THEMES = "state-space-models,time-series,diffusion-models"
PAPERS = [
    ("Selective state space models for long-horizon load forecasting",
     "We adapt a selective state space model (Mamba) to multivariate time series forecasting "
     "of electricity load and compare it with Transformers on horizons of up to a month."),
    ("Linear-time sequence modelling with structured state spaces on edge devices",
     "Structured state space sequence models such as S4 scan long sequences in linear time. "
     "We quantise an S4 layer and run it on a microcontroller for keyword spotting."),
    ("A Kalman-filter view of recurrent state space layers",
     "We show that the recurrent form of a diagonal state space layer is a steady-state "
     "Kalman filter and use this view to initialise the layer for noisy sensor streams."),
    ("Forecasting river levels with temporal convolution and seasonal priors",
     "Hydrological time series have strong seasonality. We combine a temporal convolutional "
     "network with seasonal priors and forecast river levels seven days ahead."),
    ("Anomaly detection in irregularly sampled clinical time series",
     "Vital signs are sampled at irregular intervals. We detect anomalies in such clinical "
     "time series with a continuous-time encoder and evaluate on intensive-care records."),
    ("Few-step image generation by distilling a latent diffusion model",
     "Latent diffusion models need many denoising steps. We distil a pretrained diffusion "
     "model into a four-step sampler with a consistency objective and keep image quality."),
    ("Guided diffusion for protein backbone design",
     "We train a score-based diffusion model on protein backbones and steer the reverse "
     "process with classifier-free guidance towards a target fold."),
    ("Denoising diffusion for probabilistic weather forecasting",
     "A conditional denoising diffusion model produces ensembles of weather forecasts; the "
     "ensembles are calibrated and cheaper than numerical ensemble prediction."),
    ("Counting sheep with a single camera",
     "We count animals in pasture images with a lightweight detector and report errors per "
     "flock size on a new dataset collected by farmers."),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "digest-375.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tagger-digest-") as temp:
        source = Path(temp) / "papers.jsonl"
        source.write_text("".join(
            json.dumps({"id": f"arxiv:2612.{90001 + k}", "title": title, "abstract": text,
                        "month": "2026-12", "categories": ["cs.LG"]}) + "\n"
            for k, (title, text) in enumerate(PAPERS)), encoding="utf-8")
        db, html = str(Path(temp) / "stream.db"), Path(temp) / "digest.html"
        for command in (["ingest", str(source), "--db", db, "--jobs", "1", "--quiet"],
                        ["digest", "--db", db, "--themes", THEMES, "--since", "1d",
                         "--format", "html", "-o", str(html)]):
            subprocess.run([TAGGER, *command], check=True)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 375, "height": 740},
                                    device_scale_factor=2)
            page.goto(html.as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 375:
                raise SystemExit(f"the digest is {width} px wide at a 375 px viewport")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
