"""The public site's SQL is bounded: custom SQL is off (canned queries work), no value may
grow past a limit (``zeroblob``), and no page names a file on the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_fixity import _store

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.store import init_archive, open_archive, utc_now
from livingmemory.site.publish import publish
from livingmemory.site.serve import SITE_SETTINGS, datasette_command, site_metadata

datasette = pytest.importorskip("datasette.app")

BOMBS = [
    "select hex(zeroblob(150000000))",
    "select length(randomblob(200000000))",
    "select length(printf('%.*c', 300000000, 'x'))",
]


@pytest.fixture(scope="module")
def public_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    archive_db = init_archive(tmp_path_factory.mktemp("sql") / "archive" / "archive.db").archive
    recording_id = _store(archive_db, "tape.wav", 5)
    with open_archive(archive_db) as archive:
        transcript = archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "test",
             "started_at": utc_now(), "finished_at": utc_now(), "is_current": 1}
        ).last_pk  # fmt: skip
        archive.db["segments"].insert(
            {"transcript_id": transcript, "recording_id": recording_id, "position": 0,
             "start": 0.0, "end": 1.0, "text": "Rodila sem se v Kranju."}
        )  # fmt: skip
        archive.db.conn.commit()
        publish(archive)
        metadata = site_metadata(archive)
    return {"db": archive_db.parent / PUBLIC_DIR / PUBLIC_DB, "metadata": metadata}


def _datasette(site: dict[str, Any], metadata: dict[str, Any] | None = None):
    settings = {k: v for k, v in SITE_SETTINGS.items()}
    return datasette.Datasette(
        immutables=[str(site["db"])], metadata=metadata or site["metadata"], settings=settings
    )


def _get(ds, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path)

    return asyncio.run(run())


def test_custom_sql_is_off_on_the_public_site(public_site: dict[str, Any]) -> None:
    ds = _datasette(public_site)
    for sql in [*BOMBS, "select * from pragma_database_list"]:
        response = _get(ds, f"/public.json?sql={sql}")
        assert response.status_code == 403, (sql, response.status_code)
    # The canned queries still answer.
    response = _get(ds, "/public/search_transcripts.json?q=Kranju&_shape=array")
    assert response.status_code == 200, response.text[:300]
    assert response.json() and "Kranj" in response.json()[0]["snippet"]


def test_with_sql_turned_on_no_query_can_allocate_gigabytes(public_site: dict[str, Any]) -> None:
    ds = _datasette(public_site, {**public_site["metadata"], "allow_sql": True})
    assert _get(ds, "/public.json?sql=select+1+as+one&_shape=array").json() == [{"one": 1}]
    for sql in BOMBS:
        response = _get(ds, f"/public.json?sql={sql}&_shape=array")
        # SQLite refuses (zeroblob, randomblob) or gives NULL (printf) instead of allocating.
        if response.status_code == 200:
            assert list(response.json()[0].values()) == [None], (sql, response.text[:300])
        else:
            assert response.status_code == 400, (sql, response.status_code)
            assert "too big" in response.text, response.text[:300]


def test_no_page_names_a_file_on_the_server(public_site: dict[str, Any]) -> None:
    from livingmemory.site.guard import guard

    ds = _datasette(public_site)
    folder = str(Path(public_site["db"]).parent.parent)
    for path in ["/-/databases.json", "/-/metadata.json", "/-/databases", "/-/metadata"]:
        assert _get(ds, path).status_code == 404, path
    for path in ["/", "/public", "/public/recordings.json", "/-/settings.json", "/-/plugins.json"]:
        response = _get(ds, path)
        assert folder not in response.text, path
    assert guard  # the wrapper these 404s come from


def test_serve_passes_the_bounds_to_datasette(tmp_path: Path) -> None:
    archive_db = init_archive(tmp_path / "archive.db").archive
    with open_archive(archive_db) as archive:
        publish(archive)
        command = datasette_command(
            archive, tmp_path / "m.json", host="127.0.0.1", port=1, private=False
        )
    pairs = {command[i + 1]: command[i + 2] for i, a in enumerate(command) if a == "--setting"}
    assert int(pairs["sql_time_limit_ms"]) <= 3000
    assert int(pairs["max_returned_rows"]) <= 1000


@pytest.mark.parametrize(
    ("path", "status"),
    [("/x/y/z/w", 404), ("/public/a/b/c/d/e", 404), ("/nonexistent", 404), ("/-/x", 404)],
)
def test_unmatched_urls_are_client_errors_not_500(
    public_site: dict[str, Any], path: str, status: int, capsys: pytest.CaptureFixture
) -> None:
    response = _get(_datasette(public_site), path)
    assert response.status_code == status, response.text[:300]
    assert "Traceback" not in capsys.readouterr().err
