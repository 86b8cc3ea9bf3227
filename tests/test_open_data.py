"""Open data on the public site: OAI-PMH (validated against the official schemas and
harvested by a real harvester), IIIF manifests (checked with iiif-prezi3), transcript
downloads, search results as JSON/CSV, and schema.org JSON-LD (read with extruct).

The archive is ``site_fixtures.build_site``'s, with one passage of the Slovenian interview
redacted and an ``index_points`` table (the contract with the index-point work) in its public
database: nothing restricted, embargoed or redacted may appear in any of these outputs."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from datasette.app import Datasette
from site_fixtures import HIDDEN_TEXT, SL_LINES, build_site

from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.formats import loads, parse_ohms
from livingmemory.review.index_points import add_point
from livingmemory.site import downloads, oai
from livingmemory.site.publish import publish, redact
from livingmemory.site.serve import site_metadata

xmlschema = pytest.importorskip("xmlschema")

SCHEMAS = Path(__file__).parent / "schemas" / "oai"
REDACTED_LINE = SL_LINES[1][1]  # "Oče je delal v Železarni na Jesenicah."
REDACTED_WORD = "Železarni"
SECRETS = [*HIDDEN_TEXT, REDACTED_WORD]
POINTS = [
    (0.0, "Rojstvo v Kranju", ["Kranj"], ["family"], "Kranj", 46.24, 14.36),
    (3.0, "Šola med vojno", ["šola"], ["war"], None, None, None),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]) -> dict[str, Any]:
    built = build_site(tmp_path_factory.mktemp("open-data") / "archive", audio_files)
    sl = built["ids"]["sl"]
    with open_archive(built["archive_db"]) as archive:
        redact(archive, sl, 2.1, 2.9, "the narrator asked")  # inside the second line only
        # The interview's index, written as volunteers write it and published with it.
        for at, title, keywords, subjects, place, lat, lon in POINTS:
            add_point(
                archive, sl, at=at, title=title, synopsis=f"{title}.", keywords=keywords,
                subjects=subjects, place=place, lat=lat, lon=lon, author="test",
            )  # fmt: skip
        publish(archive)
        built["metadata"] = site_metadata(archive)
    return built


@pytest.fixture(scope="module")
def ds(site: dict[str, Any]) -> Datasette:
    metadata = json.loads(json.dumps(site["metadata"]))
    metadata["plugins"]["livingmemory"]["oai_page_size"] = 1  # every list is paged
    return Datasette([str(site["public_db"])], metadata=metadata)


def get(ds: Datasette, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.get(path, **kwargs)

    return asyncio.run(run())


def post(ds: Datasette, path: str, data: dict[str, str]) -> httpx.Response:
    async def run() -> httpx.Response:
        await ds.invoke_startup()
        return await ds.client.post(path, data=data)

    return asyncio.run(run())


# -- OAI-PMH ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schemas() -> tuple[Any, Any]:
    """The official OAI-PMH and oai_dc schemas, their imports mapped to the shipped files."""
    local = {
        "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": SCHEMAS / "simpledc20021212.xsd",
        "http://www.w3.org/2001/03/xml.xsd": SCHEMAS / "xml.xsd",
        "http://www.w3.org/2001/xml.xsd": SCHEMAS / "xml.xsd",
        oai.OAI_DC_SCHEMA: SCHEMAS / "oai_dc.xsd",
    }

    def mapper(url: str) -> str:
        return str(local[url]) if url in local else url

    dc = xmlschema.XMLSchema(SCHEMAS / "oai_dc.xsd", uri_mapper=mapper, allow="local")
    pmh = xmlschema.XMLSchema(
        SCHEMAS / "OAI-PMH.xsd",
        uri_mapper=mapper,
        allow="local",
        locations=[(oai.OAI_DC, str(SCHEMAS / "oai_dc.xsd"))],
    )
    return pmh, dc


def oai_get(ds: Datasette, schemas: tuple[Any, Any], query: str) -> Any:
    """One response: HTTP 200, XML, valid against OAI-PMH.xsd (records against oai_dc.xsd)."""
    from lxml import etree

    response = get(ds, "/oai?" + query)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    pmh, dc = schemas
    pmh.validate(response.content)
    root = etree.fromstring(response.content)
    for record in root.iter(f"{{{oai.OAI_DC}}}dc"):
        dc.validate(etree.tostring(record))
    return root


def error_code(root: Any) -> str | None:
    found = root.find(f"{{{oai.OAI}}}error")
    return None if found is None else found.get("code")


NS = {"o": oai.OAI, "oai_dc": oai.OAI_DC, "dc": oai.DC}


def test_oai_verbs_validate_and_page(
    site: dict[str, Any], ds: Datasette, schemas: tuple[Any, Any]
) -> None:
    identify = oai_get(ds, schemas, "verb=Identify")
    assert identify.findtext("o:Identify/o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:Identify/o:baseURL", namespaces=NS) == "http://localhost/oai"
    formats = oai_get(ds, schemas, "verb=ListMetadataFormats")
    assert formats.findtext(".//o:metadataPrefix", namespaces=NS) == "oai_dc"
    sets = oai_get(ds, schemas, "verb=ListSets")
    specs = {s.text for s in sets.iterfind(".//o:setSpec", NS)}
    assert {"kraj", "kraj:kranj", "kraj:bohinj", "desetletje:1950", "desetletje:1980"} <= specs
    # Page size 1: the two public interviews come one per response, with a token between.
    first = oai_get(ds, schemas, "verb=ListRecords&metadataPrefix=oai_dc")
    token = first.find(".//o:resumptionToken", NS)
    assert token is not None and token.text and token.get("completeListSize") == "2"
    assert token.get("cursor") == "0"
    second = oai_get(ds, schemas, f"verb=ListRecords&resumptionToken={quote(token.text)}")
    last = second.find(".//o:resumptionToken", NS)
    assert last is not None and not last.text and last.get("cursor") == "1"  # the end
    titles = [t.text for r in (first, second) for t in r.iterfind(".//dc:title", NS)]
    assert titles == ['Spomini na Kranj <script>window.lmPwned = "title"</script>',
                      "Letters from Bohinj"]  # fmt: skip
    # Set selection and ListIdentifiers.
    bohinj = oai_get(ds, schemas, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=kraj:bohinj")
    identifiers = [i.text for i in bohinj.iterfind(".//o:header/o:identifier", NS)]
    assert identifiers == [f"oai:localhost:{site['ids']['en']}"]
    decade = oai_get(ds, schemas, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=desetletje:1950")
    assert [i.text for i in decade.iterfind(".//o:identifier", NS)] == [
        f"oai:localhost:{site['ids']['sl']}"
    ]


def test_oai_record_fields(site: dict[str, Any], ds: Datasette, schemas: tuple[Any, Any]) -> None:
    sl = site["ids"]["sl"]
    root = oai_get(
        ds, schemas, f"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:localhost:{sl}"
    )
    dc = root.find(".//oai_dc:dc", NS)

    def values(tag: str) -> list[str]:
        return [e.text for e in dc.iterfind(f"dc:{tag}", NS)]

    assert values("creator") == ["Ana Novak"] and values("contributor") == ["Miha Zupan"]
    assert values("date") == ["1954-05-12"] and values("language") == ["sl"]
    assert values("coverage")[0] == "Kranj"
    assert "vojna" in values("subject") and "war" in values("subject")
    assert values("identifier") == [f"http://localhost/intervju/{sl}"]
    assert any(v.startswith("http://localhost/-/audio/") for v in values("relation"))
    assert "CC BY-NC-SA 4.0" in values("rights")
    assert [s.text for s in root.iterfind(".//o:setSpec", NS)] == ["kraj:kranj", "desetletje:1950"]
    # POST is the same request (the protocol requires both).
    posted = post(ds, "/oai", {"verb": "GetRecord", "metadataPrefix": "oai_dc",
                               "identifier": f"oai:localhost:{sl}"})  # fmt: skip
    assert posted.status_code == 200 and "<dc:creator>Ana Novak</dc:creator>" in posted.text


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Harvest", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&set=kraj", "badArgument"),
        ("verb=GetRecord&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2020-13-40", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2020-01-01T00:00:00Z",
         "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-01&until=2020-01-01",
         "badArgument"),
        ("verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
        ("verb=GetRecord&metadataPrefix=mods&identifier=oai:localhost:1",
         "cannotDisseminateFormat"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:localhost:999999", "idDoesNotExist"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:elsewhere:1", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=oai:localhost:999999", "idDoesNotExist"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=kraj:atlantida", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&until=1999-01-01", "noRecordsMatch"),
        ("verb=ListRecords&resumptionToken=not-a-token", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
    ],
)  # fmt: skip
def test_oai_errors(ds: Datasette, schemas: tuple[Any, Any], query: str, code: str) -> None:
    root = oai_get(ds, schemas, query)
    assert error_code(root) == code
    request = root.find("o:request", NS)
    if code in ("badVerb", "badArgument"):
        assert not request.attrib  # only the base URL for a request that was not understood


def test_oai_token_of_another_verb_is_refused(ds: Datasette, schemas: tuple[Any, Any]) -> None:
    first = oai_get(ds, schemas, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    token = first.find(".//o:resumptionToken", NS).text
    again = oai_get(ds, schemas, f"verb=ListRecords&resumptionToken={quote(token)}")
    assert error_code(again) == "badResumptionToken"


@pytest.mark.slow  # starts a server
def test_a_real_harvester_harvests_the_running_site(site: dict[str, Any], tmp_path: Path) -> None:
    """sickle (a harvester from PyPI) against ``livingmemory serve``, pages of one record."""
    sickle = pytest.importorskip("sickle")
    from sickle import oaiexceptions
    from test_browser import served

    path = site["folder"] / "metadata.yml"
    metadata = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    metadata.setdefault("plugins", {}).setdefault("livingmemory", {})["oai_page_size"] = 1
    path.write_text(yaml.safe_dump(metadata, allow_unicode=True), encoding="utf-8")
    with served(site["archive_db"], tmp_path / "serve.log") as base:
        harvester = sickle.Sickle(f"{base}/oai", max_retries=0, timeout=30)
        assert harvester.Identify().protocolVersion == "2.0"
        records = list(harvester.ListRecords(metadataPrefix="oai_dc"))
        assert [r.header.identifier for r in records] == [
            f"oai:127.0.0.1:{site['ids'][key]}" for key in ("sl", "en")
        ]
        assert records[0].metadata["creator"] == ["Ana Novak"]
        assert records[1].metadata["title"] == ["Letters from Bohinj"]
        assert records[1].metadata["coverage"][0] == "Bohinj"
        kranj = list(harvester.ListIdentifiers(metadataPrefix="oai_dc", set="kraj:kranj"))
        assert [h.identifier for h in kranj] == [f"oai:127.0.0.1:{site['ids']['sl']}"]
        assert "desetletje:1980" in {s.setSpec for s in harvester.ListSets()}
        record = harvester.GetRecord(
            identifier=f"oai:127.0.0.1:{site['ids']['en']}", metadataPrefix="oai_dc"
        )
        assert record.metadata["language"] == ["en"]
        with pytest.raises(oaiexceptions.IdDoesNotExist):
            harvester.GetRecord(
                identifier=f"oai:127.0.0.1:{site['ids']['restricted']}", metadataPrefix="oai_dc"
            )
        with pytest.raises(oaiexceptions.CannotDisseminateFormat):
            list(harvester.ListRecords(metadataPrefix="marc21"))


def test_oai_never_shows_what_is_not_public(site: dict[str, Any], ds: Datasette) -> None:
    texts = []
    for verb in ("ListRecords&metadataPrefix=oai_dc", "ListSets", "Identify"):
        response = get(ds, f"/oai?verb={verb}")
        texts.append(response.text)
        token = re.search(r">([^<\s]+)</resumptionToken>", response.text)
        while token:
            response = get(ds, f"/oai?verb=ListRecords&resumptionToken={token.group(1)}")
            texts.append(response.text)
            token = re.search(r">([^<\s]+)</resumptionToken>", response.text)
    everything = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in everything
    for key in ("restricted", "embargoed"):
        assert f"oai:localhost:{site['ids'][key]}<" not in everything


# -- transcripts and search as files ------------------------------------------------------


def test_transcript_downloads_are_redacted_and_named(site: dict[str, Any], ds: Datasette) -> None:
    sl = site["ids"]["sl"]
    html = get(ds, f"/intervju/{sl}").text
    for ext in ("vtt", "srt", "txt", "json", "xml"):
        assert f'href="/intervju/{sl}/prepis.{ext}"' in html
        response = get(ds, f"/intervju/{sl}/prepis.{ext}")
        assert response.status_code == 200, ext
        disposition = response.headers["content-disposition"]
        assert disposition == (
            f'attachment; filename="spomini-na-kranj-script-window-lmpwned-title-script.{ext}"'
        )
        for secret in SECRETS:
            assert secret not in response.text, (ext, secret)
    vtt = loads(get(ds, f"/intervju/{sl}/prepis.vtt").text, "vtt")
    kept = [text for _, text, _ in SL_LINES if text != REDACTED_LINE]
    assert [cue.text for cue in vtt.cues] == kept
    assert get(ds, f"/intervju/{sl}/prepis.vtt").headers["content-type"].startswith("text/vtt")
    srt = loads(get(ds, f"/intervju/{sl}/prepis.srt").text, "srt")
    assert [cue.start for cue in srt.cues] == [s for s, t, _ in SL_LINES if t != REDACTED_LINE]
    ohms = parse_ohms(get(ds, f"/intervju/{sl}/prepis.xml").text)
    assert ohms["interviewees"] == ["Ana Novak"] and ohms["interviewers"] == ["Miha Zupan"]
    assert [p["title"] for p in ohms["index_points"]] == [p[1] for p in POINTS]
    data = json.loads(get(ds, f"/intervju/{sl}/prepis.json").text)
    assert REDACTED_WORD not in json.dumps(data, ensure_ascii=False)
    for key in ("restricted", "embargoed"):
        assert get(ds, f"/intervju/{site['ids'][key]}/prepis.vtt").status_code == 404
    assert get(ds, f"/intervju/{sl}/prepis.exe").status_code == 404


def test_search_as_json_and_csv(site: dict[str, Any], ds: Datasette) -> None:
    page = get(ds, "/iskanje?q=Kranj").text
    assert 'href="/iskanje.json?q=Kranj"' in page and 'href="/iskanje.csv?q=Kranj"' in page
    data = get(ds, "/iskanje.json?q=Kranj").json()
    assert data["query"] == "Kranj" and data["hits"]
    assert {h["recording_id"] for h in data["hits"]} == {site["ids"]["sl"]}
    first = data["hits"][0]
    assert first["url"] == f"http://localhost/intervju/{site['ids']['sl']}#t={int(first['start'])}"
    # The page shows the same moments.
    assert len(re.findall(r'class="moment"', page)) == len(data["hits"])
    response = get(ds, "/iskanje.csv?q=Kranj")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="iskanje-kranj.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["text"] for r in rows] == [h["text"] for h in data["hits"]]
    # Filters and paging as on the page.
    assert get(ds, "/iskanje.json?q=Kranj&kraj=Bohinj").json()["hits"] == []
    letters = get(ds, "/iskanje.json?q=letters&jezik=en").json()["hits"]
    assert letters and {h["recording_id"] for h in letters} == {site["ids"]["en"]}
    assert get(ds, "/iskanje.json?q=letters&jezik=sl").json()["hits"] == []
    later = get(ds, "/iskanje.json?q=Kranj&od=50").json()
    assert later["hits"] == [] and later["offset"] == 50 and later["previous"]
    for query in ("Kranj", "Jesenice", "zelezarna", "QK41", "embargom"):
        hits = json.dumps(
            get(ds, f"/iskanje.json?q={quote(query)}").json()["hits"], ensure_ascii=False
        )
        for secret in SECRETS:
            assert secret not in hits


# -- IIIF ---------------------------------------------------------------------------------


def test_iiif_manifest(site: dict[str, Any], ds: Datasette) -> None:
    iiif_prezi3 = pytest.importorskip("iiif_prezi3")
    sl, en = site["ids"]["sl"], site["ids"]["en"]
    assert f'href="/iiif/{sl}/manifest.json"' in get(ds, f"/intervju/{sl}").text
    response = get(ds, f"/iiif/{sl}/manifest.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()
    iiif_prezi3.Manifest(**data)  # the IIIF Presentation 3 models accept it
    canvas = data["items"][0]
    assert canvas["duration"] > 0
    painting = canvas["items"][0]["items"][0]
    assert painting["motivation"] == "painting" and painting["body"]["type"] == "Sound"
    transcript = canvas["annotations"][0]["items"][0]
    assert transcript["motivation"] == "supplementing"
    assert transcript["body"]["format"] == "text/vtt"
    assert transcript["body"]["label"] == {"sl": ["Prepis"], "en": ["Transcript"]}
    vtt_path = transcript["body"]["id"].removeprefix("http://localhost")
    vtt = get(ds, vtt_path)
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
    assert REDACTED_WORD not in vtt.text
    ranges = data["structures"][0]["items"]
    assert [r["label"] for r in ranges] == [{"sl": [p[1]]} for p in POINTS]
    assert ranges[0]["items"][0]["id"].endswith("#t=0,3")
    assert ranges[1]["items"][0]["id"].endswith(f"#t=3,{canvas['duration']:g}")
    assert data["rights"].startswith("https://creativecommons.org/")
    assert set(data["metadata"][0]["label"]) == {"sl", "en"}
    # An interview without index points has no ranges; unpublished ones have no manifest.
    other = get(ds, f"/iiif/{en}/manifest.json").json()
    iiif_prezi3.Manifest(**other)
    assert "structures" not in other
    for key in ("restricted", "embargoed"):
        assert get(ds, f"/iiif/{site['ids'][key]}/manifest.json").status_code == 404


def test_no_index_points_table_no_ranges() -> None:
    conn = sqlite3.connect(":memory:")
    assert downloads.published_index_points(conn, 1) == []


def test_oai_text_never_breaks_the_xml() -> None:
    import xml.etree.ElementTree as ET

    root = ET.Element("r")
    oai._sub(root, "title", "Zvok\x0b in \x00tišina \ud800 <b>&")
    parsed = ET.fromstring(ET.tostring(root))
    assert parsed.findtext("title") == "Zvok in tišina  <b>&"


# -- JSON-LD ------------------------------------------------------------------------------


def test_interview_json_ld(site: dict[str, Any], ds: Datasette) -> None:
    extruct = pytest.importorskip("extruct")
    sl = site["ids"]["sl"]
    html = get(ds, f"/intervju/{sl}").text
    found = extruct.extract(html, base_url="http://localhost/", syntaxes=["json-ld"])["json-ld"]
    assert len(found) == 1
    item = found[0]
    assert item["@type"] == "AudioObject" and item["@context"] == "https://schema.org"
    assert item["name"] == 'Spomini na Kranj <script>window.lmPwned = "title"</script>'
    assert item["dateCreated"] == "1954-05-12" and item["inLanguage"] == "sl"
    assert item["contentLocation"] == {"@type": "Place", "name": "Kranj"}
    about = {(a["@type"], a["name"]) for a in item["about"]}
    assert ("Place", "Kranj") in about and ("DefinedTerm", "vojna") in about
    assert item["creator"] == [{"@type": "Person", "name": "Ana Novak"}]
    assert item["duration"].startswith("PT")
    assert "<script>window.lmPwned" not in html  # the title cannot close the script element
    for secret in SECRETS:
        assert secret not in json.dumps(item, ensure_ascii=False)


# -- the researchers' pages (Datasette's, in Slovenian; the browser checks are in
# test_researchers_browser.py) ---------------------------------------------------------


def test_researcher_pages_speak_slovenian(ds: Datasette) -> None:
    table = get(ds, "/public/segments").text
    assert '<html lang="sl">' in table
    assert '<label for="_search">Išči po besedilu:</label>' in table
    for select in ("f-col", "f-op", "sort_by"):
        assert f'<label class="lm-sr" for="{select}">' in table and f'id="{select}"' in table
    assert 'value="Uporabi"' in table and "Ti podatki kot" in table and "6 vrstic" not in table
    assert re.search(r"\b5 vrstic\b", table)  # the redacted line is not published
    assert "This data as" not in table and "Apply" not in table
    query = get(ds, "/public/search_transcripts?q=Kranj").text
    assert '<html lang="sl">' in query and 'value="Poišči"' in query
    assert 'id="sql-query" class="wrapped-sql"' in query
    row = get(ds, "/public/segments/1").text
    assert '<html lang="sl">' in row and "Ti podatki kot" in row
    missing = get(ds, "/public/nothing_here")
    assert missing.status_code == 404 and "Te strani ni" in missing.text
