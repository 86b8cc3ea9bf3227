"""A published archive for the map and trail tests: interviews whose places come only from
their metadata (never tagged: the map must still place them), a restricted one, a redacted
passage, and a trail whose stops mix public and non-public moments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import add_json, insert_transcript, run_cli

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.site.publish import publish, redact
from livingmemory.site.serve import site_metadata

# key: (audio format, title, narrator, place recorded, narrator's home, access)
INTERVIEWS = {
    "bled": ("ogg", "Spomini z Bleda", "Marta Kos", "Bled", "Bohinjska Bistrica", "public"),
    "kranj": ("wav", "Kranj po vojni", "Jože Pavlin", "Kranj", None, "public"),
    "loka": ("flac", "Škofjeloški pasijon", "Ivana Demšar", "Škofja Loka", None, "public"),
    "lesce": ("mp3", "Lesce in letališče", "Franc Rozman", "Lesce", None, "public"),
    "radovljica": ("opus", "Radovljiški trg", "Ana Lipar", "Radovljica", None, "public"),
    "secret": ("m4a", "Zaprto pričevanje QZ17", "Skrita Oseba QZ18", "Tržič", None, "restricted"),
}
LINES = {
    "bled": ["Na Bledu smo vsako zimo drsali po jezeru.", "Potem so prišli turisti."],
    "kranj": ["V Kranju je bila tovarna Iskra.", "Delala sem tam trideset let."],
    "loka": ["Škofja Loka ima staro mestno jedro.", "Tam je bila skrivnost QZ19."],
    "lesce": ["V Lescah je letališče.", "Letala so vzletala vsak dan."],
    "radovljica": ["Na trgu je bil sejem.", "Prodajali smo jabolka."],
    "secret": ["Tega ne sme nihče slišati QZ20.", "Res ne."],
}
HIDDEN = ["QZ17", "QZ18", "QZ19", "QZ20", "Tržič"]

TRAIL_YAML = """\
trails:
  - title: Po poteh spominov
    description: Od Bleda do Kranja s pripovedmi domačinov.
    stops:
      - place: Bled
        title: Blejsko jezero
        description: Drsanje po zamrznjenem jezeru.
        moments:
          - {{recording: {bled}, at: 0, note: Zimske igre}}
          - {{recording: {secret}, at: 0}}
      - place: Škofja Loka
        moments:
          - {{recording: {loka}, at: "0:02"}}
      - place: Tržič
        moments:
          - {{recording: {secret}, at: 1}}
      - place: Kranj
        moments:
          - {{recording: {kranj}, at: 1.5}}
"""


def build_map_site(folder: Path, audio_files: dict[str, Path]) -> dict[str, Any]:
    """Add the interviews (metadata places only), transcripts, a redaction at 1.5-4 s of the
    Škofja Loka interview, a trail; publish. Returns ids, paths and the trail file."""
    folder.mkdir(parents=True, exist_ok=True)
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    ids: dict[str, int] = {}
    for key, (audio, title, narrator, place, _, access) in INTERVIEWS.items():
        result, added = add_json(
            archive_db, audio_files[audio], "--title", title, "--narrator", narrator,
            "--place", place, "--access", access, "--language", "sl", "--date", "1975",
        )  # fmt: skip
        assert result.exit_code == 0, str(result)
        ids[key] = added[0]["recording_id"]
    with open_archive(archive_db) as archive:
        for key, (*_, home, _) in INTERVIEWS.items():
            if home:
                archive.db.execute(
                    "UPDATE people SET home_place = ? WHERE name = ?", [home, INTERVIEWS[key][2]]
                )
            insert_transcript(archive, ids[key], LINES[key], starts=[0.0, 2.0])
            archive.db.execute(
                "UPDATE segments SET end = start + 2 WHERE recording_id = ?", [ids[key]]
            )
        archive.db.conn.commit()
        redact(archive, ids["loka"], 1.5, 3.5, "narrator's wish")
    trail_file = folder / "trails.yml"
    trail_file.write_text(TRAIL_YAML.format(**ids), encoding="utf-8")
    result = run_cli("trail", "import", trail_file, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    with open_archive(archive_db) as archive:
        publish(archive)
        metadata = site_metadata(archive)
    return {
        "folder": folder,
        "archive_db": archive_db,
        "public_db": folder / PUBLIC_DIR / PUBLIC_DB,
        "ids": ids,
        "metadata": metadata,
        "trail_file": trail_file,
    }
