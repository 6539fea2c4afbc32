"""One figure per pair: the queue, the comparison page, ``opendvi explain``, the export and
the API say the same words for the same pair, with the reports searched, in plain numbers,
and no factor gives odds of its own."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate
from opendvi.matching.figures import odds_of
from opendvi.matching.queries import candidate
from opendvi.web.links import candidate_url
from tests.factories import build_site, client

SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE][+-]?\d")


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def _without_markup(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_queue_the_comparison_explain_the_export_and_the_api_say_one_figure(
    site: dict[str, Any], cli: Any
) -> None:
    dvi = site["dvi"]
    pair = candidate(dvi, site["ids"]["candidate"])
    odds = odds_of(dvi, [pair])[0]
    assert odds.calibrated, "the site's pairs are calibrated"
    reviewer = client(site, "reviewer")

    queue = reviewer.get("/review?show=all").text
    row = next(r for r in queue.split("<tr>") if f">{pair.pm_ref}</a>" in r)
    assert odds.words in _without_markup(row)
    assert "in searches of 2 reports" in _without_markup(queue)

    page = _without_markup(reviewer.get(candidate_url(pair.pm_ref, pair.am_ref)).text)
    assert odds.sentence in page
    if odds.floored:
        assert odds.floor in page

    explained = cli("explain", pair.pm_ref, pair.am_ref)
    assert explained.exit_code == 0, explained.output
    assert odds.sentence in explained.stdout

    exported = cli("export", "candidates", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    mine = next(r for r in rows if (r["pm_ref"], r["am_ref"]) == (pair.pm_ref, pair.am_ref))
    assert mine["odds"] == odds.sentence

    shown = reviewer.get(f"/api/candidates/{pair.id}").json()
    assert shown["odds"]["sentence"] == odds.sentence
    assert shown["odds"]["registry"] == 2
    assert shown["false_candidate_rate"] == pair.false_candidate_rate  # kept for clients

    for said in (queue, page, explained.stdout, exported):
        assert not SCIENTIFIC.search(said), SCIENTIFIC.search(said)


def test_a_factor_says_its_weight_and_the_face_gives_no_odds_of_its_own(
    site: dict[str, Any], cli: Any
) -> None:
    pair = candidate(site["dvi"], site["ids"]["candidate"])
    page = _without_markup(
        client(site, "reviewer").get(candidate_url(pair.pm_ref, pair.am_ref)).text
    )
    assert "Makes a match" in page and "times more likely" in page
    assert "Points" not in page  # points without a scale are not shown
    assert "face similarity" in page and "1 is the same face" in page
    # The pair's figure is the only "1 in" on the page besides the credibility line.
    figures = re.findall(r"1 in [\d,]+|1 in a million", page)
    assert len(set(figures) - {"1 in 20"}) == 1, figures
    explained = json.loads(cli("explain", pair.pm_ref, pair.am_ref, "--json").stdout)
    assert explained["factors"]["face"]["weight"].endswith("times more likely")
    assert "1 in" not in json.dumps(explained["factors"])
    assert "rate" not in explained["factors"]["face"]
    assert explained["odds"]["sentence"] in explained["verdict"]


def test_a_small_registry_floors_the_figure_and_says_why_everywhere(
    site: dict[str, Any], cli: Any
) -> None:
    dvi = site["dvi"]
    # A pair stored as far rarer than 1 in 10,000 (a near-identical face would be).
    with dvi.db.write() as session:
        stored = session.get(Candidate, site["ids"]["candidate"])
        assert stored is not None
        stored.false_candidate_rate = 3.2e-11
    pair = candidate(dvi, site["ids"]["candidate"])
    odds = odds_of(dvi, [pair])[0]
    assert odds.floored and odds.words == "fewer than 1 in 10,000"
    assert "only 2 reports are registered" in odds.floor
    reviewer = client(site, "reviewer")
    queue = _without_markup(reviewer.get("/review?show=all").text)
    assert "fewer than 1 in 10,000*" in queue
    assert "Not said rarer because only 2 reports are registered" in queue
    page = _without_markup(reviewer.get(candidate_url(pair.pm_ref, pair.am_ref)).text)
    assert f"Candidate: {odds.sentence}." in page
    assert f"Not said rarer because {odds.floor}." in page
    exported = cli("export", "candidates", "--format", "csv").stdout
    assert "fewer than 1 in 10,000 searches of 2 reports" in exported
    assert "0.000000000032" in exported and not SCIENTIFIC.search(exported)
    shown = reviewer.get(f"/api/candidates/{pair.id}").json()["odds"]
    assert (shown["floored"], shown["one_in"], shown["floor"]) == (True, 10_000, odds.floor)
