"""The Datasette plugin: ranged audio, play buttons, escaped transcripts, the player script.

Fast (no browser, no server): requests go through ``Datasette.client``. pytest-asyncio is not a
dependency, so every test drives its requests with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import sqlite_utils
from datasette.app import Datasette

from livingmemory.site import plugin as datasette_plugin
from livingmemory.site.plugin import RangeNotSatisfiable, parse_range, play_button

AUDIO = bytes(range(256)) * 4  # 1024 bytes, every offset recognisable
SIZE = len(AUDIO)
SECRET = b"SECRET ARCHIVE BYTES - must never be served"
SCRIPT_TEXT = "Rekla je <script>alert(1)</script> in <b>glasno</b> zapela."


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A public database, an audio folder and, next to it, a private file."""
    public = tmp_path / "public"
    audio_dir = public / "recordings"
    audio_dir.mkdir(parents=True)
    (audio_dir / "3.opus").write_bytes(AUDIO)
    for name in ("a.ogg", "a.mp3", "a.flac", "a.wav", "a.m4a", "a.aac"):
        (audio_dir / name).write_bytes(b"x" * 10)
    (audio_dir / ".3.opus.partial").write_bytes(AUDIO)
    (audio_dir / "notes.html").write_bytes(b"<script>alert(1)</script>")
    secret = public / "archive.db"
    secret.write_bytes(SECRET)
    outside = tmp_path / "outside.opus"
    outside.write_bytes(SECRET)
    (audio_dir / "link-out.opus").symlink_to(outside)
    (audio_dir / "link-archive.opus").symlink_to(secret)
    (audio_dir / "link-in.opus").symlink_to(audio_dir / "3.opus")

    db_path = public / "public.db"
    db = sqlite_utils.Database(db_path)
    db["recordings"].insert({"id": 3, "title": "Babica", "audio_url": "/-/audio/3.opus"}, pk="id")
    db["segments"].insert_all(
        [
            {
                "id": 1,
                "recording_id": 3,
                "start": 12.5,
                "end": 15.0,
                "speaker": "A",
                "text": SCRIPT_TEXT,
                "play": "/-/audio/3.opus#t=12.5",
            },
            {
                "id": 2,
                "recording_id": 3,
                "start": 3725.0,
                "end": 3730.0,
                "speaker": "B",
                "text": "Drugi del.",
                "play": "/-/audio/3.opus#t=3725",
            },
            {
                "id": 3,
                "recording_id": 3,
                "start": 0.0,
                "end": 1.0,
                "speaker": "B",
                "text": "Ni predvajanja.",
                "play": '"><img src=x onerror=alert(1)>',
            },
        ],
        pk="id",
    )
    metadata = {
        "databases": {
            "public": {
                "queries": {
                    "by_speaker": {
                        "sql": "select id, text, play from segments where speaker = :speaker"
                    }
                }
            }
        },
        "plugins": {"livingmemory": {"audio_dir": str(audio_dir)}},
    }
    return {"db_path": db_path, "audio_dir": audio_dir, "metadata": metadata, "secret": secret}


def request(ds: Datasette, path: str, method: str = "get", **kwargs):
    return asyncio.run(getattr(ds.client, method)(path, **kwargs))


@pytest.fixture
def ds(site: dict) -> Datasette:
    return Datasette([str(site["db_path"])], metadata=site["metadata"])


# -- parse_range ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", (0, 0)),
        ("bytes=10-19", (10, 19)),
        ("bytes=10-99999", (10, 99)),
        ("bytes=5-", (5, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("Bytes=1-2", (1, 2)),
        ("bytes=0-1, 5-6", None),  # several ranges: ignored, whole file
        ("items=1-2", None),  # an unknown unit: ignored (RFC 9110 14.2)
        ("", None),
        ("bytes=10-" + "9" * 4300, (10, 99)),  # 4,300 digits once gave a 500
        ("bytes=-" + "9" * 4300, (0, 99)),
        ("bytes=0000000000000000000000000010-19", (10, 19)),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100-",
        "bytes=200-300",
        "bytes=5-4",
        "bytes=-0",
        "bytes=-",
        "bytes=abc",
        "bytes=" + "9" * 4300 + "-",
    ],
)
def test_parse_range_rejects(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_parse_range_empty_file():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-5", 0)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


# -- /-/audio/<name> --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=10-19", 10, 19), ("bytes=-5", SIZE - 5, SIZE - 1), ("bytes=5-", 5, SIZE - 1)],
)
def test_range_request(ds, header, start, end):
    response = request(ds, "/-/audio/3.opus", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == AUDIO[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/ogg"


def test_full_file(ds):
    response = request(ds, "/-/audio/3.opus")
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-range" not in response.headers


def test_large_file_streams_in_chunks(ds, site):
    big = os.urandom(datasette_plugin.CHUNK_SIZE * 3 + 17)
    (site["audio_dir"] / "big.opus").write_bytes(big)
    assert request(ds, "/-/audio/big.opus").content == big
    response = request(ds, "/-/audio/big.opus", headers={"Range": "bytes=70000-200000"})
    assert response.status_code == 206
    assert response.content == big[70000:200001]


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=abc", "bytes=20-10", "bytes=-0"])
def test_unsatisfiable_range(ds, header):
    response = request(ds, "/-/audio/3.opus", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert AUDIO[:16] not in response.content


def test_head(ds):
    response = request(ds, "/-/audio/3.opus", method="head")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/ogg"
    assert response.content == b""
    response = request(ds, "/-/audio/3.opus", method="head", headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-19/{SIZE}"
    assert response.headers["content-length"] == "10"
    assert response.content == b""


def test_other_methods_refused(ds):
    response = request(ds, "/-/audio/3.opus", method="post")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.ogg", "audio/ogg"),
        ("3.opus", "audio/ogg"),
        ("a.mp3", "audio/mpeg"),
        ("a.flac", "audio/flac"),
        ("a.wav", "audio/wav"),
        ("a.m4a", "audio/mp4"),
        ("a.aac", "audio/aac"),
    ],
)
def test_content_type(ds, name, content_type):
    response = request(ds, f"/-/audio/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


def test_symlink_inside_audio_dir_is_served(ds):
    response = request(ds, "/-/audio/link-in.opus", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.content == AUDIO[:4]


@pytest.mark.parametrize(
    "path",
    [
        "/-/audio/..%2Farchive.db",
        "/-/audio/..%2farchive.db",
        "/-/audio/%2e%2e%2farchive.db",
        "/-/audio/%2E%2E%2Farchive.db",
        "/-/audio/..",
        "/-/audio/%2e%2e",
        "/-/audio/.",
        "/-/audio/..%5Carchive.db",
        "/-/audio/%2Fetc%2Fpasswd",
        "/-/audio/%252e%252e%252farchive.db",
        "/-/audio/..%2F..%2Foutside.opus",
        "/-/audio/link-out.opus",  # symlink to a file outside audio_dir
        "/-/audio/link-archive.opus",  # symlink to the private archive
        "/-/audio/notes.html",  # not audio
        "/-/audio/missing.opus",
        "/-/audio/.3.opus.partial",  # publish's temporary files
        "/-/audio/3.opus%00.html",
        "/-/audio/../archive.db",
        "/-/audio/recordings/../archive.db",
    ],
)
def test_traversal_is_404(ds, path):
    response = request(ds, path)
    assert response.status_code == 404
    assert SECRET not in response.content
    assert b"<script>alert(1)" not in response.content
    ranged = request(ds, path, headers={"Range": "bytes=0-"})
    assert ranged.status_code == 404
    assert SECRET not in ranged.content


def test_absolute_path_name_is_404(ds, site):
    response = request(ds, "/-/audio/" + str(site["secret"]).replace("/", "%2F"))
    assert response.status_code == 404
    assert SECRET not in response.content


def test_no_audio_dir_configured(site):
    ds = Datasette([str(site["db_path"])])
    response = request(ds, "/-/audio/3.opus")
    assert response.status_code == 404
    assert AUDIO[:16] not in response.content


def test_missing_audio_dir(site, tmp_path):
    metadata = {"plugins": {"livingmemory": {"audio_dir": str(tmp_path / "nowhere")}}}
    ds = Datasette([str(site["db_path"])], metadata=metadata)
    assert request(ds, "/-/audio/3.opus").status_code == 404


def test_private_instance_needs_login(site):
    metadata = {**site["metadata"], "allow": {"id": "archive"}}
    ds = Datasette([str(site["db_path"])], metadata=metadata)
    response = request(ds, "/-/audio/3.opus", headers={"Range": "bytes=0-"})
    assert response.status_code == 403
    assert AUDIO[:16] not in response.content
    cookies = {"ds_actor": ds.sign({"a": {"id": "archive"}}, "actor")}
    response = request(ds, "/-/audio/3.opus", headers={"Range": "bytes=0-3"}, cookies=cookies)
    assert response.status_code == 206
    assert response.content == AUDIO[:4]


# -- play buttons, escaping ------------------------------------------------------------


def test_play_button_markup():
    html = str(play_button("/-/audio/3.opus#t=3725.25", None))
    assert html == (
        '<button type="button" class="lm-play" data-src="/-/audio/3.opus" '
        'data-start="3725.25" title="Play from 01:02:05">\u25b6 01:02:05</button>'
    )
    for value in (
        None,
        12.5,
        "/-/audio/3.opus",
        "/-/audio/3.opus#t=abc",
        "/-/audio/../x.opus#t=1",
        '/-/audio/3.opus#t=1"><script>',
        "https://example.com/-/audio/3.opus#t=1",
    ):
        assert play_button(value, None) is None


def test_table_page(ds):
    response = request(ds, "/public/segments")
    assert response.status_code == 200
    html = response.text
    assert 'class="lm-play"' in html
    assert 'data-src="/-/audio/3.opus" data-start="12.5"' in html
    assert 'data-start="3725"' in html
    assert "\u25b6 00:00:12" in html
    assert "\u25b6 01:02:05" in html
    # The transcript is escaped, never raw HTML.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;glasno&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<b>glasno" not in html
    # A play value that is not an audio link is shown as escaped text.
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "/-/static-plugins/livingmemory/player.js" in html


def test_row_page(ds):
    html = request(ds, "/public/segments/1").text
    assert 'data-start="12.5"' in html
    assert "<script>alert(1)" not in html


def test_canned_query(ds):
    response = request(ds, "/public/by_speaker?speaker=B")
    assert response.status_code == 200
    assert 'data-start="3725"' in response.text
    assert "<img src=x" not in response.text


def test_json_is_untouched(ds):
    rows = request(ds, "/public/segments.json?_shape=array").json()
    assert rows[0]["play"] == "/-/audio/3.opus#t=12.5"
    assert rows[0]["text"] == SCRIPT_TEXT


def test_base_url(site):
    ds = Datasette(
        [str(site["db_path"])], metadata=site["metadata"], settings={"base_url": "/archive/"}
    )
    # Datasette.client adds base_url to the paths it is given.
    html = request(ds, "/public/segments").text
    assert 'data-src="/archive/-/audio/3.opus"' in html
    assert "/archive/-/static-plugins/livingmemory/player.js" in html
    assert request(ds, "/-/static-plugins/livingmemory/player.js").status_code == 200
    response = request(ds, "/-/audio/3.opus", headers={"Range": "bytes=0-1"})
    assert response.status_code == 206
    assert response.content == AUDIO[:2]


# -- player script, registration --------------------------------------------------------


def test_player_js(ds):
    response = request(ds, "/-/static-plugins/livingmemory/player.js")
    assert response.status_code == 200
    script = response.text
    for needle in ("lm-play", "lm-player", "loadedmetadata", "data-lm-start", "lmLastSeek"):
        assert needle in script
    assert request(ds, "/-/static-plugins/livingmemory/..%2F__init__.py").status_code == 404


def test_plugin_listed(ds):
    plugins = request(ds, "/-/plugins.json").json()
    ours = [plugin for plugin in plugins if plugin["name"] == "livingmemory"]
    assert ours, json.dumps(plugins)
    assert {"register_routes", "render_cell", "extra_js_urls"} <= set(ours[0]["hooks"])
