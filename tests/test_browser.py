"""The demo page end to end in headless Chromium (Playwright driving Debian's ``chromium``).

A real ``acsa serve`` process on a free loopback port serves a small trained
model; the browser types reviews, clicks, and the chips it draws must equal
``/v1/predict``'s answer for the same texts. An over-limit text must show the
server's JSON error. The page must load nothing from anywhere else.

Where Chromium or Playwright is missing the test skips, except under
``ACSA_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where it fails. Playwright's
own browser download is never used: ``executable_path`` points at the system
Chromium (``ACSA_CHROMIUM`` overrides ``/usr/bin/chromium``).

To refresh ``docs/figures/demo_page.png`` and ``demo_explain.png`` (an aspect's
evidence highlighted after a click) with the quickstart model::

    ACSA_DEMO_MODEL=runs/quickstart/model ACSA_DEMO_SCREENSHOT=docs/figures/demo_page.png \\
        ACSA_DEMO_EXPLAIN_SCREENSHOT=docs/figures/demo_explain.png \\
        python -m pytest -m slow tests/test_browser.py

Marked slow (a server process and a browser); ``.ci/run`` runs it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.serving import ServerProcess, chips_of, sample_reviews, shared_tiny_model

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# reviews shown when the demo model is a real one (the quickstart model's aspects)
REAL_REVIEWS = [
    "Máy chạy mượt, thiết kế sang trọng.",
    "Giao hàng nhanh, đóng gói cẩn thận, shop tư vấn nhiệt tình.",
    "Màn hình đẹp, loa to, nhưng pin tụt nhanh.",
    "Camera chụp thiếu sáng bị nhòe, pin dùng được 1 ngày.",
]
EVIDENCE_RGB = {"for": ["47", "95", "208"], "against": ["230", "120", "20"]}  # demo.css
SENTIMENT_COLOURS = {  # demo.css: --positive-bg, --neutral-bg, --negative-bg
    "positive": "rgb(227, 244, 234)",
    "neutral": "rgb(246, 239, 207)",
    "negative": "rgb(251, 228, 228)",
}


def _chromium() -> str:
    path = os.environ.get("ACSA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    if not Path(path).is_file():
        problem = f"Chromium not found at {path} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is not None:
        if os.environ.get("ACSA_REQUIRE_BROWSER") == "1":
            pytest.fail(problem + " (ACSA_REQUIRE_BROWSER=1)")
        pytest.skip(problem)
    return path


@pytest.fixture(scope="module")
def demo_model() -> tuple[Path, list[str]]:
    given = os.environ.get("ACSA_DEMO_MODEL")
    if given:
        return Path(given), REAL_REVIEWS
    model = shared_tiny_model()
    return model, [*sample_reviews(3, seed=4), "mình mua hôm qua"]


def _rendered(page: Any) -> list[dict[str, Any]]:
    """What the page shows: per review card, its text and chips."""
    return page.eval_on_selector_all(
        "#results .review",
        """cards => cards.map(card => ({
            text: card.querySelector('.text').textContent,
            none: card.querySelector('.none') !== null,
            chips: Array.from(card.querySelectorAll('.chip')).map(chip => ({
                aspect: chip.dataset.aspect,
                sentiment: chip.dataset.sentiment,
                probability: Number(chip.dataset.probability),
                shown: chip.querySelector('.probability').textContent,
                label: chip.querySelector('.aspect').textContent,
                background: getComputedStyle(chip).backgroundColor,
                classes: chip.className,
            })),
        }))""",
    )


@pytest.mark.slow
def test_demo_page_in_chromium(demo_model: tuple[Path, list[str]], tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    model_dir, reviews = demo_model
    screenshot = Path(os.environ.get("ACSA_DEMO_SCREENSHOT") or tmp_path / "demo_page.png")
    explain_shot = Path(
        os.environ.get("ACSA_DEMO_EXPLAIN_SCREENSHOT") or tmp_path / "demo_explain.png"
    )
    with ServerProcess(model_dir, ["--max-chars", "300"]) as server, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 900, "height": 820},
        )
        try:
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(server.url + "/")
            info = httpx.get(server.url + "/v1/model").json()
            page.wait_for_function(
                "document.getElementById('model-info').textContent.includes(':')"
            )
            assert ", ".join(info["aspects"]) in page.text_content("#model-info")

            page.fill("#reviews", "\n".join(reviews) + "\n\n")  # blank lines are dropped
            page.click("#analyse")
            page.wait_for_selector(f"#results .review:nth-child({len(reviews)})")
            shown = _rendered(page)
            expected = httpx.post(
                server.url + "/v1/predict", json={"texts": reviews, "explain": True}
            ).json()
            records = expected["predictions"]
            assert [card["text"] for card in shown] == reviews
            mentioned = 0
            for card, record in zip(shown, records, strict=True):
                chips = {c["aspect"]: (c["sentiment"], c["probability"]) for c in card["chips"]}
                assert chips == chips_of(record)
                assert list(chips) == list(record["aspects"])  # same order as the API
                assert card["none"] == (not record["aspects"])
                for chip in card["chips"]:
                    assert chip["shown"] == f"{chip['probability']:.2f}"
                    assert chip["label"] == f"{chip['aspect']}: {chip['sentiment']}"
                    assert chip["background"] == SENTIMENT_COLOURS[chip["sentiment"]]
                    mentioned += 1
            assert mentioned >= 2, "the demo reviews should mention aspects"
            assert page.is_hidden("#error-box")
            assert "review(s) in" in page.text_content("#status")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            _check_evidence_highlight(page, reviews, records, explain_shot)

            # an over-limit text: the page shows the server's JSON error, and keeps working
            page.fill("#reviews", "x" * 301)
            page.click("#analyse")
            page.wait_for_selector("#error-box:not([hidden])")
            error = page.text_content("#error")
            assert "HTTP 413" in error and '"limit": "max_chars"' in error
            assert _rendered(page) == []  # no stale chips beside an error
            page.fill("#reviews", reviews[0])
            page.click("#analyse")
            page.wait_for_selector("#results .review")
            assert page.is_hidden("#error-box") and len(_rendered(page)) == 1

            outside = [url for url in requested if not url.startswith(server.url)]
            assert not outside, outside
        finally:
            context.close()
    assert screenshot.stat().st_size > 10_000
    assert explain_shot.stat().st_size > 10_000


def _marks(page: Any, card: int) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        f"#results .review:nth-child({card + 1}) .text mark",
        """marks => marks.map(m => ({
            text: m.textContent, classes: m.className,
            contribution: Number(m.dataset.contribution),
            background: getComputedStyle(m).backgroundColor,
        }))""",
    )


def _check_evidence_highlight(
    page: Any, reviews: list[str], records: list[dict[str, Any]], shot: Path
) -> None:
    """Clicking a chip marks the tokens of the server's explanation, in two colours by sign.

    The screenshot shows the aspect with the most marks against its label (both colours)."""
    clicked = 0
    best: tuple[int, Any, int] | None = None  # (marks against, chip, card)
    for index, record in enumerate(records):
        for aspect, evidence in record["explanations"].items():
            chip = page.locator(f"#results .review:nth-child({index + 1}) .chip").filter(
                has=page.locator(".aspect", has_text=f"{aspect}: ")
            )
            chip.first.click()
            assert chip.first.get_attribute("aria-pressed") == "true"
            marks = _marks(page, index)
            text = page.text_content(f"#results .review:nth-child({index + 1}) .text")
            assert text == reviews[index]  # highlighting never changes the text
            strongest = max(abs(t["contribution"]) for t in evidence["tokens"])
            expected = sorted(
                (t for t in evidence["tokens"] if abs(t["contribution"]) >= 0.05 * strongest),
                key=lambda t: t["start"],
            )
            assert [m["text"] for m in marks] == [t["text"] for t in expected]
            for mark, token in zip(marks, expected, strict=True):
                assert mark["contribution"] == pytest.approx(token["contribution"])
                side = "for" if token["contribution"] > 0 else "against"
                assert mark["classes"] == f"evidence {side}"
                assert re.findall(r"[\d.]+", mark["background"])[:3] == EVIDENCE_RGB[side]
            clicked += 1
            against = sum(m["classes"].endswith("against") for m in marks)
            if best is None or against > best[0]:
                best = (against, chip.first, index)
            chip.first.click()  # a second click clears the marks
            assert _marks(page, index) == []
            assert chip.first.get_attribute("aria-pressed") == "false"
    assert clicked >= 2 and best is not None
    best[1].click()
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert _marks(page, best[2])
    best[1].click()
