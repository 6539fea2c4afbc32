"""Import → match → explain → export through the command, on real photos of five people."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI

# Imports and face edits act as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def test_real_photos_find_their_people_and_group_photos_wait_for_a_choice(
    cli: Any, dvi: OpenDVI, small_knn: Path, tmp_path: Path
) -> None:
    remains = tmp_path / "remains"
    for photo in sorted((small_knn / "test").iterdir()):
        (remains / photo.stem).mkdir(parents=True)
        shutil.copy(photo, remains / photo.stem / photo.name)
    first = cli("import", "folder", str(small_knn / "train"), "--as", "missing")
    assert first.exit_code == 0, first.output
    assert "built-in estimate" in first.stdout  # five reports are too few to calibrate on
    second = cli("import", "folder", str(remains), "--as", "unidentified")
    assert second.exit_code == 0, second.output
    # The two group photos have several faces and nobody chosen yet: no face to compare.
    assert "no credible candidate for 2 remains record(s): kit_with_rose, obama_and_biden" in (
        second.stdout
    )
    rows = list(csv.DictReader(io.StringIO(cli("export", "candidates").stdout)))
    top = {r["pm_ref"]: r for r in rows if r["rank"] == "1"}
    assert top["obama1"]["am_ref"] == "obama" and top["obama1"]["credible"] == "True"
    assert top["johnsnow_test1"]["am_ref"] == "kit_harington"
    assert top["johnsnow_test1"]["credible"] == "True"
    assert top["alex_lacamoire1"]["am_ref"] == "alex_lacamoire"
    assert top["obama_and_biden"]["face_score"] == ""

    # Choosing Biden in the group photo queues it; matching then finds his report.
    listing = cli("faces", "list", "obama_and_biden").stdout
    face_ids = [
        line.split()[1]
        for line in listing.splitlines()
        if line.startswith("  face ") and " usable " in line
    ]
    assert len(face_ids) >= 2
    found = {}
    for face_id in face_ids:
        cli("faces", "subject", face_id)
        assert "1 records" in cli("match").stdout
        rows = list(csv.DictReader(io.StringIO(cli("export", "candidates").stdout)))
        best = next(r for r in rows if r["pm_ref"] == "obama_and_biden" and r["rank"] == "1")
        if best["credible"] == "True":
            found[best["am_ref"]] = best["credible"]
    assert found == {"obama": "True", "biden": "True"}

    explained = cli("explain", "obama1", "obama")
    assert "verdict: candidate" in explained.stdout
    assert "driving pair: face" in explained.stdout
    assert "nothing waiting" in cli("match").stdout
