"""Composing a heritage trail in the workspace form (issue 25, part 4): rows become stops and
moments through the same checks as ``trail import``; bad rows and forged posts change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_workspace import Client, add_one

from livingmemory.archive.store import open_archive
from livingmemory.site.trails import get_trail, list_trails


@pytest.fixture
def client(archive_db: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("datasette")
    made = Client(archive_db, monkeypatch)
    yield made
    made.close()


def trails(archive_db: Path) -> list[dict]:
    with open_archive(archive_db) as archive:
        return list_trails(archive)


def test_form_composes_edits_and_removes_a_trail(
    client: Client, archive_db: Path, audio_files: dict[str, Path]
) -> None:
    first = add_one(archive_db, audio_files["wav"], "--title", "Prvi", "--place", "Bled")
    second = add_one(archive_db, audio_files["flac"], "--title", "Drugi")
    assert client("GET", "/-/workspace/poti").status_code == 302  # login first
    client.login()
    page = client("GET", "/-/workspace/poti")
    assert page.status_code == 200 and "Nova pot" in page.text and "#1 Prvi" in page.text
    token = client.token("/-/workspace/poti")
    form = {
        "csrftoken": token, "title": "Ob jezeru", "description": "Kratka pot",
        "place_1": "Bled", "stop_title_1": "Grad", "recording_1": str(first), "at_1": "0:01",
        "note_1": "Zima", "place_2": "Bled", "recording_2": str(second), "at_2": "2",
        "place_3": "", "recording_3": "", "at_3": "",
        "place_4": "Kranj", "recording_4": str(second), "at_4": "1.5",
    }  # fmt: skip
    done = client("POST", "/-/workspace/poti", data=form)
    assert done.status_code == 302 and done.headers["location"].startswith(
        "/-/workspace/poti/ob-jezeru?shranjeno=1"
    )
    with open_archive(archive_db) as archive:
        trail = get_trail(archive, "ob-jezeru")
    assert trail is not None
    assert [
        (s.place, s.title, [(m.recording_id, m.at) for m in s.moments]) for s in trail.stops
    ] == [
        ("Bled", "Grad", [(first, 1.0), (second, 2.0)]),
        ("Kranj", None, [(second, 1.5)]),
    ]
    assert abs(trail.stops[1].latitude - 46.2389) < 0.01  # from the gazetteer
    edit = client("GET", "/-/workspace/poti/ob-jezeru?shranjeno=1")
    assert "Pot je shranjena" in edit.text and 'value="Grad"' in edit.text
    assert 'value="00:01"' in edit.text and 'value="1.5"' in edit.text
    # Remove it.
    token = client.token("/-/workspace/poti/ob-jezeru")
    gone = client("POST", "/-/workspace/poti/ob-jezeru", data={"csrftoken": token, "remove": "1"})
    assert gone.status_code == 302 and trails(archive_db) == []


def test_bad_rows_and_forged_posts_change_nothing(
    client: Client, archive_db: Path, audio_files: dict[str, Path]
) -> None:
    recording = add_one(archive_db, audio_files["wav"], "--title", "Prvi")
    client.login()
    token = client.token("/-/workspace/poti")
    bad = {"csrftoken": token, "title": "Napačna", "place_1": "Nikjerdol",
           "recording_1": str(recording), "at_1": "0"}  # fmt: skip
    page = client("POST", "/-/workspace/poti", data=bad)
    assert page.status_code == 400
    assert "Napaka" in page.text and "Nikjerdol" in page.text and 'value="Napačna"' in page.text
    past_end = dict(bad, place_1="Kranj", at_1="59:00")
    assert client("POST", "/-/workspace/poti", data=past_end).status_code == 400
    forged = dict(bad, csrftoken="forged", place_1="Kranj")
    assert client("POST", "/-/workspace/poti", data=forged).status_code == 403
    assert trails(archive_db) == []


def test_saving_the_form_keeps_what_it_has_no_field_for(
    client: Client, archive_db: Path, audio_files: dict[str, Path], tmp_path: Path
) -> None:
    """A trail imported with stop descriptions and typed coordinates, saved unchanged from the
    workspace form, keeps them; a row whose place was changed does not take them along."""
    import re

    from livingmemory.site.trails import import_trails

    first = add_one(archive_db, audio_files["wav"], "--title", "Prvi")
    path = tmp_path / "pot.yml"
    path.write_text(
        "title: Skrita pot\nstops:\n"
        f"  - place: Nikjerdol\n    lat: 46.3\n    lon: 14.2\n    description: Stari mlin.\n"
        f"    moments: [{{recording: {first}, at: 1}}]\n"
        f"  - place: Kranj\n    description: Mestni trg.\n"
        f"    moments: [{{recording: {first}, at: 2}}]\n",
        "utf-8",
    )
    with open_archive(archive_db) as archive:
        import_trails(archive, path)
    client.login()
    page = client("GET", "/-/workspace/poti/skrita-pot").text
    form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    form.update(
        re.findall(r'<select name="([^"]+)"[^>]*>.*?<option value="(\d+)" selected', page, re.S)
    )
    form.pop("remove")  # the page's other form, the one that removes the trail
    form["csrftoken"] = client.token("/-/workspace/poti/skrita-pot")
    saved = client("POST", "/-/workspace/poti/skrita-pot", data=form)
    assert saved.status_code == 302, saved.text
    with open_archive(archive_db) as archive:
        trail = get_trail(archive, "skrita-pot")
    assert trail is not None, (saved.headers, trails(archive_db))
    assert [(s.place, s.latitude, s.longitude, s.description) for s in trail.stops] == [
        ("Nikjerdol", 46.3, 14.2, "Stari mlin."),
        ("Kranj", trail.stops[1].latitude, trail.stops[1].longitude, "Mestni trg."),
    ]
    # The second row now names another place: Kranj's description does not follow it.
    form["place_2"] = "Bled"
    assert client("POST", "/-/workspace/poti/skrita-pot", data=form).status_code == 302
    with open_archive(archive_db) as archive:
        trail = get_trail(archive, "skrita-pot")
    assert trail is not None and [(s.place, s.description) for s in trail.stops] == [
        ("Nikjerdol", "Stari mlin."),
        ("Bled", None),
    ]
