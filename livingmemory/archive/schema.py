"""The archive's schema: one place, one version number, and the migrations between versions.

The version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` holds one function per version,
applied in order, each inside its own transaction so an interrupted upgrade leaves the archive
at the previous version rather than half-way. Later features add a migration at the end of the
list; they never edit an earlier one, because archives made with it already exist.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from livingmemory.archive.sqlite import sqlite3

# "LMem" in ASCII: marks a SQLite file as a Living Memory archive.
APPLICATION_ID = 0x4C4D656D


def _v1_catalogue(db: sqlite_utils.Database) -> None:
    """Recordings, the people in them, and who played which role."""
    db.execute(
        """
        CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            title TEXT,
            file_path TEXT NOT NULL UNIQUE,      -- relative to the archive's folder
            original_filename TEXT NOT NULL,
            source_path TEXT,                    -- where the volunteer's copy was (private)
            sha256 TEXT NOT NULL UNIQUE,
            size_bytes INTEGER NOT NULL,
            format TEXT NOT NULL,
            codec TEXT,
            duration REAL NOT NULL,              -- seconds
            sample_rate INTEGER,
            channels INTEGER,
            bit_rate INTEGER,
            language TEXT,                       -- ISO 639-1; NULL when unknown
            recorded_date TEXT,                  -- ISO 8601, as precise as known: 1954, 1954-05
            place TEXT,
            access TEXT NOT NULL DEFAULT 'restricted'
                CHECK (access IN ('public', 'restricted', 'embargoed')),
            embargo_until TEXT,
            consent_notes TEXT,                  -- private: never published
            notes TEXT,                          -- private: never published
            added_at TEXT NOT NULL,
            added_by TEXT,
            CHECK (access != 'embargoed' OR embargo_until IS NOT NULL)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            birth_year INTEGER,
            home_place TEXT,
            notes TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_people_name ON people (name COLLATE NOCASE)")
    db.execute(
        """
        CREATE TABLE recording_people (
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people (id),
            role TEXT NOT NULL CHECK (role IN ('narrator', 'interviewer', 'other')),
            position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (recording_id, person_id, role)
        )
        """
    )
    db.execute("CREATE INDEX idx_recording_people_person ON recording_people (person_id)")


# Long: one migration's SQL, kept exactly as released (migrations are append-only, never edited).
def _v2_pipeline(db: sqlite_utils.Database) -> None:
    """Room for transcripts, time-coded segments and tagged entities, and a status view."""
    db.execute(
        """
        CREATE TABLE transcripts (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            source TEXT NOT NULL DEFAULT 'machine' CHECK (source IN ('machine', 'human')),
            engine TEXT,
            engine_version TEXT,
            model TEXT,
            model_sha256 TEXT,
            compute_type TEXT,
            language TEXT,
            language_probability REAL,
            options TEXT,                        -- JSON
            started_at TEXT,
            finished_at TEXT,                    -- NULL while running or if interrupted
            audio_seconds REAL,
            wall_seconds REAL,
            is_current INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX idx_transcripts_recording ON transcripts (recording_id)")
    db.execute(
        """
        CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            start REAL NOT NULL,
            end REAL NOT NULL,
            text TEXT NOT NULL,
            speaker TEXT,
            avg_logprob REAL,
            no_speech_prob REAL,
            compression_ratio REAL,
            words TEXT,                          -- JSON: [{word, start, end, probability}]
            flags TEXT                           -- JSON: suspect-segment reasons
        )
        """
    )
    db.execute("CREATE INDEX idx_segments_transcript ON segments (transcript_id, position)")
    db.execute("CREATE INDEX idx_segments_recording ON segments (recording_id, start)")
    db.execute(
        """
        CREATE TABLE entities (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            segment_id INTEGER REFERENCES segments (id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            text TEXT NOT NULL,
            canonical TEXT,
            start_char INTEGER,
            end_char INTEGER,
            start_seconds REAL,
            confidence REAL,
            pipeline TEXT,
            pipeline_version TEXT,
            source TEXT NOT NULL DEFAULT 'machine' CHECK (source IN ('machine', 'human'))
        )
        """
    )
    db.execute("CREATE INDEX idx_entities_recording ON entities (recording_id, label)")
    db.execute("CREATE INDEX idx_entities_segment ON entities (segment_id)")
    db.create_view(
        "recording_status",
        """
        SELECT r.id, r.title,
          (SELECT group_concat(name, '; ') FROM (
             SELECT p.name FROM recording_people rp JOIN people p ON p.id = rp.person_id
              WHERE rp.recording_id = r.id AND rp.role = 'narrator'
              ORDER BY rp.position)) AS narrators,
          r.recorded_date, r.place, r.language, r.access, r.duration,
          CASE
            WHEN EXISTS (SELECT 1 FROM entities e WHERE e.recording_id = r.id) THEN 'tagged'
            WHEN EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id
                           AND t.finished_at IS NOT NULL) THEN 'transcribed'
            ELSE 'added'
          END AS state
        FROM recordings r
        """,
    )


def _v3_transcription(db: sqlite_utils.Database) -> None:
    """How each transcript was made, suspect segments, dropped spans, full-text search."""
    transcripts = db.table("transcripts")
    transcripts.add_column("language_source", str)  # metadata | option | detected
    transcripts.add_column("language_candidates", str)  # JSON [[code, probability], ...]
    transcripts.add_column("prompt", str)
    transcripts.add_column("channels", str)  # "mix", or JSON {"0": "Interviewer", ...}
    transcripts.add_column("suspect_segments", int)
    segments = db.table("segments")
    segments.add_column("channel", int)
    segments.add_column("temperature", float)
    segments.add_column("suspect", int, not_null_default=0)
    db.execute(
        """
        CREATE TABLE dropped_spans (
            id INTEGER PRIMARY KEY,
            transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            channel INTEGER,
            start REAL NOT NULL,
            end REAL NOT NULL,
            reason TEXT NOT NULL,
            loudness_dbfs REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_dropped_spans_recording ON dropped_spans (recording_id)")
    # Diacritics-insensitive search ("zelezarna" finds "Železarna"), kept in step by triggers.
    segments.enable_fts(["text"], tokenize="unicode61 remove_diacritics 2", create_triggers=True)


def _v4_tagging(db: sqlite_utils.Database) -> None:
    """Lemmas for search, tagging provenance, places with coordinates, the owner's vocabulary."""
    # Lemmas of the text, for inflection-proof search.
    db.table("segments").add_column("lemmas", str)
    db.table("transcripts").add_column("tagged_version", str)
    db.table("transcripts").add_column("tagged_at", str)
    entities = db.table("entities")
    entities.add_column("lemma", str)
    entities.add_column("value", str)  # normalised date: 1954, 1954-05-13, 1950s
    entities.add_column("decade", int)
    entities.add_column("method", str)  # gazetteer | model | rule | fuzzy | metadata | keyword
    db.execute(
        """
        CREATE TABLE places (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,                  -- place | organisation
            type TEXT,
            region TEXT,
            latitude REAL,
            longitude REAL,
            source TEXT
        )
        """
    )
    entities.add_column("place_id", int)
    db.execute(
        """
        CREATE TABLE vocabulary (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('place', 'organisation', 'person')),
            type TEXT,
            latitude REAL,
            longitude REAL,
            aliases TEXT,                        -- JSON list
            ambiguous INTEGER NOT NULL DEFAULT 0,
            added_at TEXT,
            added_by TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_entities_canonical ON entities (label, canonical)")
    segments = db.table("segments")
    segments.disable_fts()
    segments.enable_fts(
        ["text", "lemmas"], tokenize="unicode61 remove_diacritics 2", create_triggers=True
    )


def _v5_redactions(db: sqlite_utils.Database) -> None:
    """Passages a narrator asked to remove: cut from the public text, index and audio."""
    db.execute(
        """
        CREATE TABLE redactions (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            start REAL NOT NULL,
            end REAL NOT NULL CHECK (end > start),
            reason TEXT,
            added_at TEXT NOT NULL,
            added_by TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_redactions_recording ON redactions (recording_id)")


def _v6_review(db: sqlite_utils.Database) -> None:
    """Human corrections as revisions, review status, multi-part interviews, current view.

    A reviewed transcript is stored as a new ``human`` transcript whose segments point back
    at the machine segments they correct; each changed cue adds a ``revisions`` row (old and
    new text and speaker, who, when, note). Machine text is never overwritten.
    """
    db.table("recordings").add_column("review_status", str, not_null_default="pending")
    db.table("recordings").add_column("interview_key", str)  # parts of one interview share it
    db.table("recordings").add_column("part", int)
    db.table("segments").add_column("based_on", int)  # the machine segment a human one corrects
    db.execute(
        """
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
            segment_id INTEGER REFERENCES segments (id) ON DELETE CASCADE,
            based_on INTEGER REFERENCES segments (id),
            old_text TEXT,
            new_text TEXT,
            old_speaker TEXT,
            new_speaker TEXT,
            start REAL,
            end REAL,
            author TEXT,
            created_at TEXT NOT NULL,
            note TEXT,
            source_file TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_revisions_recording ON revisions (recording_id)")
    # The transcript everything shows, searches, tags and publishes: the newest human one if
    # people have reviewed or imported one, otherwise the current machine run.
    db.create_view(
        "current_transcripts",
        """
        SELECT r.id AS recording_id, coalesce(
          (SELECT t.id FROM transcripts t WHERE t.recording_id = r.id AND t.source = 'human'
             AND t.is_current = 1 AND t.finished_at IS NOT NULL ORDER BY t.id DESC LIMIT 1),
          (SELECT t.id FROM transcripts t WHERE t.recording_id = r.id AND t.source = 'machine'
             AND t.is_current = 1 AND t.finished_at IS NOT NULL ORDER BY t.id DESC LIMIT 1)
        ) AS transcript_id
        FROM recordings r
        """,
    )


def _v7_honest_transcripts(db: sqlite_utils.Database) -> None:
    """What a machine transcript can be trusted for: per-segment confidence from word
    probabilities, recording-level warnings (names in the metadata never heard), the checks
    behind them, and a language that detection could not settle."""
    db.table("segments").add_column("confidence", float)  # mean word probability
    db.table("transcripts").add_column("warnings", str)  # JSON list: ["names_not_heard", ...]
    db.table("transcripts").add_column("checks", str)  # JSON: names heard, channel choice
    # NULL: not transcribed yet; 'uncertain': detection too unsure to transcribe; otherwise
    # where the language of the current transcript came from (metadata, option, detected).
    db.table("recordings").add_column("language_status", str)
    db.table("recordings").add_column("language_candidates", str)  # JSON [[code, probability]...]
    db.execute("DROP VIEW recording_status")
    db.create_view(
        "recording_status",
        """
        SELECT r.id, r.title,
          (SELECT group_concat(name, '; ') FROM (
             SELECT p.name FROM recording_people rp JOIN people p ON p.id = rp.person_id
              WHERE rp.recording_id = r.id AND rp.role = 'narrator'
              ORDER BY rp.position)) AS narrators,
          r.recorded_date, r.place, r.language, r.access, r.duration,
          CASE
            -- Tagged means the tagger ran, even when it found nothing to tag.
            WHEN EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id
                           AND t.tagged_at IS NOT NULL)
              OR EXISTS (SELECT 1 FROM entities e WHERE e.recording_id = r.id) THEN 'tagged'
            WHEN EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id
                           AND t.finished_at IS NOT NULL) THEN 'transcribed'
            WHEN r.language_status = 'uncertain' THEN 'language uncertain'
            ELSE 'added'
          END AS state,
          r.language_status,
          (SELECT t.warnings FROM transcripts t WHERE t.recording_id = r.id
             AND t.source = 'machine' AND t.is_current = 1) AS warnings
        FROM recordings r
        """,
    )


def _v8_workspace(db: sqlite_utils.Database) -> None:
    """The volunteers' workspace: metadata edits with who/when/old/new, a transcription
    queue shared by the web and ``livingmemory worker``, and lines marked reviewed."""
    db.execute(
        """
        CREATE TABLE edits (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            author TEXT,
            created_at TEXT NOT NULL,
            source TEXT                          -- web | cli
        )
        """
    )
    db.execute("CREATE INDEX idx_edits_recording ON edits (recording_id)")
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            kind TEXT NOT NULL DEFAULT 'transcribe',
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed')),
            progress REAL NOT NULL DEFAULT 0,    -- 0..1 of the recording's audio
            message TEXT,
            queued_at TEXT NOT NULL,
            queued_by TEXT,
            started_at TEXT,
            heartbeat_at TEXT,                   -- a running job without a recent one is stale
            finished_at TEXT,
            worker TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_jobs_status ON jobs (status, id)")
    db.execute("CREATE INDEX idx_jobs_recording ON jobs (recording_id, status)")
    db.table("segments").add_column("reviewed", int, not_null_default=0)


# -- search (issue 12) -----------------------------------------------------------------------
# Tokens fold case and diacritics; "_" joins the words of a tag name into one token, so a tag
# for "Škofja Loka" is found by that whole name only, never by "Loka" alone.
_SEARCH_TOKENIZE = "unicode61 remove_diacritics 2 tokenchars '_'"


def _tag_token(e: str) -> str:
    """SQL for an entity's tag as one token: "Škofja Loka" -> "Škofja_Loka"; dates by value."""
    name = f"coalesce(CASE WHEN {e}.label = 'DATE' THEN {e}.value END, {e}.canonical)"
    return f"replace(replace({name}, ' ', '_'), '-', '_')"


def _strong_tag(e: str) -> str:
    """SQL: a confident tag (not a fuzzy or low-confidence guess)."""
    return f"({e}.method IS NOT 'fuzzy' AND coalesce({e}.confidence, 1) >= 0.6)"


def _segment_tags_sql(where: str, segment: str) -> str:
    """An UPDATE that recomputes ``tags`` and ``tags_loose`` of the segments ``where`` picks."""
    return f"""
        UPDATE segments SET
          tags = (SELECT group_concat({_tag_token("e")}, ' ') FROM entities e
                   WHERE e.segment_id = {segment} AND {_strong_tag("e")}),
          tags_loose = (SELECT group_concat({_tag_token("e")}, ' ') FROM entities e
                         WHERE e.segment_id = {segment} AND NOT {_strong_tag("e")})
        WHERE {where};"""


def _current_flags_sql(recording: str) -> str:
    """An UPDATE marking which of a recording's segments belong to its current transcript."""
    current = (
        f"(SELECT c.transcript_id FROM current_transcripts c WHERE c.recording_id = {recording})"
    )
    return f"""
        UPDATE segments SET in_current = (transcript_id IS {current})
        WHERE recording_id = {recording} AND in_current IS NOT (transcript_id IS {current});"""


def _run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run several statements inside the migration's transaction (``executescript`` would
    commit it first)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")


# Long: one migration's SQL, kept exactly as released (migrations are append-only, never edited).
def _v9_search(db: sqlite_utils.Database) -> None:
    """Search without joining ``current_transcripts``, in tags and titles too (issue 12).

    * ``segments.in_current``: 1 for segments of their recording's current transcript, kept
      right by triggers on ``transcripts`` and ``segments``, so search tests a column instead
      of evaluating the view for every match.
    * ``segments.tags`` / ``tags_loose``: the segment's tag names (confident ones; fuzzy or
      low-confidence ones), kept right by triggers on ``entities`` and indexed in
      ``segments_fts`` beside the text and lemmas.
    * ``search_tags``: every tag name once, with its own full-text index, so that a query is
      resolved to tag names without scanning ``entities``.
    * ``recording_search``: titles, places and people of each recording with their lemmas,
      filled by ``livingmemory.search`` (lemmas need Python); triggers list the recordings
      whose metadata changed in ``recording_search_pending``.
    """
    segments = db.table("segments")
    segments.add_column("in_current", int, not_null_default=0)
    segments.add_column("tags", str)
    segments.add_column("tags_loose", str)
    db.execute(
        "UPDATE segments SET in_current = 1 WHERE transcript_id IN "
        "(SELECT transcript_id FROM current_transcripts WHERE transcript_id IS NOT NULL)"
    )
    db.execute(_segment_tags_sql("id IN (SELECT segment_id FROM entities)", "segments.id"))
    segments.disable_fts()
    columns = "text, lemmas, tags, tags_loose"
    new = ", ".join(f"new.{c}" for c in columns.split(", "))
    old = ", ".join(f"old.{c}" for c in columns.split(", "))
    tag_name = (
        f"INSERT OR IGNORE INTO search_tags (name) SELECT {_tag_token('new')} "
        "WHERE new.canonical IS NOT NULL;"
    )
    pending = "INSERT OR IGNORE INTO recording_search_pending (recording_id) VALUES"
    _run_script(
        db,
        f"""
        CREATE VIRTUAL TABLE segments_fts USING fts5 ({columns}, content=[segments],
            tokenize="{_SEARCH_TOKENIZE}");
        INSERT INTO segments_fts (segments_fts) VALUES ('rebuild');
        CREATE TRIGGER segments_ai AFTER INSERT ON segments BEGIN
          INSERT INTO segments_fts (rowid, {columns}) VALUES (new.rowid, {new});
        END;
        CREATE TRIGGER segments_ad AFTER DELETE ON segments BEGIN
          INSERT INTO segments_fts (segments_fts, rowid, {columns})
            VALUES ('delete', old.rowid, {old});
        END;
        CREATE TRIGGER segments_au AFTER UPDATE OF {columns} ON segments BEGIN
          INSERT INTO segments_fts (segments_fts, rowid, {columns})
            VALUES ('delete', old.rowid, {old});
          INSERT INTO segments_fts (rowid, {columns}) VALUES (new.rowid, {new});
        END;
        CREATE TRIGGER segments_current_ai AFTER INSERT ON segments BEGIN
          UPDATE segments SET in_current = 1 WHERE id = new.id AND new.transcript_id IS
            (SELECT c.transcript_id FROM current_transcripts c
              WHERE c.recording_id = new.recording_id);
        END;
        CREATE TRIGGER transcripts_current_ai AFTER INSERT ON transcripts BEGIN
          {_current_flags_sql("new.recording_id")}
        END;
        CREATE TRIGGER transcripts_current_au
          AFTER UPDATE OF is_current, finished_at, source, recording_id ON transcripts BEGIN
          {_current_flags_sql("new.recording_id")}
          {_current_flags_sql("old.recording_id")}
        END;
        CREATE TRIGGER transcripts_current_ad AFTER DELETE ON transcripts BEGIN
          {_current_flags_sql("old.recording_id")}
        END;

        CREATE INDEX idx_entities_date_decade ON entities (decade, recording_id)
          WHERE label = 'DATE';
        CREATE TABLE search_tags (name TEXT PRIMARY KEY);
        CREATE VIRTUAL TABLE search_tags_fts USING fts5 (name, content=[search_tags],
            tokenize="unicode61 remove_diacritics 2");
        CREATE TRIGGER search_tags_ai AFTER INSERT ON search_tags BEGIN
          INSERT INTO search_tags_fts (rowid, name) VALUES (new.rowid, new.name);
        END;
        INSERT OR IGNORE INTO search_tags (name)
          SELECT {_tag_token("e")} FROM entities e WHERE e.canonical IS NOT NULL;
        CREATE TRIGGER entities_tags_ai AFTER INSERT ON entities BEGIN
          {_segment_tags_sql("id = new.segment_id", "new.segment_id")}
          {tag_name}
        END;
        CREATE TRIGGER entities_tags_ad AFTER DELETE ON entities BEGIN
          {_segment_tags_sql("id = old.segment_id", "old.segment_id")}
        END;
        CREATE TRIGGER entities_tags_au AFTER UPDATE OF
          segment_id, label, canonical, value, method, confidence ON entities BEGIN
          {_segment_tags_sql("id = old.segment_id", "old.segment_id")}
          {_segment_tags_sql("id = new.segment_id", "new.segment_id")}
          {tag_name}
        END;

        CREATE VIRTUAL TABLE recording_search USING fts5 (
            title, place, narrators, interviewers, tokenize="{_SEARCH_TOKENIZE}");
        CREATE TABLE recording_search_pending (recording_id INTEGER PRIMARY KEY);
        INSERT INTO recording_search_pending (recording_id) SELECT id FROM recordings;
        CREATE TRIGGER recordings_search_ai AFTER INSERT ON recordings BEGIN
          {pending} (new.id);
        END;
        CREATE TRIGGER recordings_search_au AFTER UPDATE OF
          title, place, language, recorded_date, access ON recordings BEGIN
          {pending} (new.id);
        END;
        CREATE TRIGGER recordings_search_ad AFTER DELETE ON recordings BEGIN
          DELETE FROM recording_search WHERE rowid = old.id;
          DELETE FROM recording_search_pending WHERE recording_id = old.id;
        END;
        CREATE TRIGGER recording_people_search_ai AFTER INSERT ON recording_people BEGIN
          {pending} (new.recording_id);
        END;
        CREATE TRIGGER recording_people_search_au AFTER UPDATE ON recording_people BEGIN
          {pending} (old.recording_id);
          {pending} (new.recording_id);
        END;
        CREATE TRIGGER recording_people_search_ad AFTER DELETE ON recording_people BEGIN
          {pending} (old.recording_id);
        END;
        CREATE TRIGGER people_search_au AFTER UPDATE OF name ON people BEGIN
          INSERT OR IGNORE INTO recording_search_pending (recording_id)
            SELECT recording_id FROM recording_people WHERE person_id = new.id;
        END;
        """,
    )


def _v10_claims(db: sqlite_utils.Database) -> None:
    """Claims: which process is working on which recording (two ``transcribe`` runs must not
    transcribe the same recording twice). See :mod:`livingmemory.archive.concurrency`."""
    db.execute(
        """
        CREATE TABLE claims (
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            task TEXT NOT NULL,
            owner TEXT NOT NULL,          -- host:pid
            claimed_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (recording_id, task)
        )
        """
    )


def _v11_voices(db: sqlite_utils.Database) -> None:
    """Diarized voices per recording and one voice print per person (issue 15).

    Both are private biometric data: ``publish`` copies whitelisted tables only, never these.
    """
    db.execute(
        """
        CREATE TABLE speaker_voices (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
            cluster TEXT NOT NULL,               -- S1, S2... by speech time
            label TEXT NOT NULL,                 -- the name the segments carry
            person_id INTEGER REFERENCES people (id),
            method TEXT NOT NULL,                -- voice | role | none | manual
            similarity REAL,                     -- cosine to the stored voice that named it
            seconds REAL,
            model TEXT NOT NULL,
            embedding BLOB NOT NULL              -- float32 vector
        )
        """
    )
    db.execute("CREATE INDEX idx_speaker_voices_recording ON speaker_voices (recording_id)")
    db.execute("CREATE INDEX idx_speaker_voices_person ON speaker_voices (person_id)")
    db.execute(
        """
        CREATE TABLE voice_prints (
            person_id INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            embedding BLOB NOT NULL,             -- float32, mean of the person's voices
            seconds REAL,
            recordings INTEGER,
            updated_at TEXT
        )
        """
    )


def _v12_publish_changes(db: sqlite_utils.Database) -> None:
    """A change counter per recording for segments and entities (issue 17).

    Incremental ``publish`` rewrites only recordings whose public rows may have changed. Most
    of what feeds them (metadata, people, transcripts, redactions) is small enough to compare
    on every publish, but segments and entities are millions of rows edited in place (tagging,
    corrections, speaker names): these triggers bump the recording's counter on any change,
    so publish never has to read them to know.
    """
    bump = (
        "INSERT INTO publish_changes (recording_id, version) VALUES ({row}.recording_id, 1) "
        "ON CONFLICT (recording_id) DO UPDATE SET version = version + 1;"
    )
    db.execute(
        "CREATE TABLE publish_changes (recording_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"
    )
    columns = "start, end, speaker, text, lemmas, suspect, recording_id, transcript_id"
    for table, update in (("segments", f"UPDATE OF {columns}"), ("entities", "UPDATE")):
        for event, rows in (("INSERT", ("new",)), (update, ("old", "new")), ("DELETE", ("old",))):
            body = " ".join(bump.format(row=row) for row in rows)
            name = f"{table}_publish_{event.split()[0].lower()}"
            db.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END")


def _v13_live_publishing(db: sqlite_utils.Database) -> None:
    """Publishing that follows the archive at once (issue 21).

    ``file_checks``: per recording, the file's identity (size, inode, modification and change
    times) when its SHA-256 was last found right, so ``publish`` re-hashes exactly the files
    touched since (any write changes ``st_ctime``) instead of trusting a public copy made
    from them long ago. ``publish_runs``: every publish (who, when, what changed, progress),
    the history the workspace's "Objavi" page shows. ``recording_status.warnings`` now
    follows the current transcript (a correction can make a name heard).
    """
    db.execute(
        """
        CREATE TABLE file_checks (
            recording_id INTEGER PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL, size INTEGER, inode INTEGER, mtime_ns INTEGER,
            ctime_ns INTEGER, checked_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE publish_runs (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
            started_at TEXT, finished_at TEXT, started_by TEXT, pid INTEGER,
            progress REAL DEFAULT 0, message TEXT, summary TEXT
        )
        """
    )
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'recording_status'").fetchone()[0]
    old = (
        "(SELECT t.warnings FROM transcripts t WHERE t.recording_id = r.id\n"
        "             AND t.source = 'machine' AND t.is_current = 1) AS warnings"
    )
    new = (
        "(SELECT t.warnings FROM current_transcripts c JOIN transcripts t\n"
        "             ON t.id = c.transcript_id WHERE c.recording_id = r.id) AS warnings"
    )
    assert old in sql, "recording_status is not the view _v7 made"
    db.execute("DROP VIEW recording_status")
    db.execute(sql.replace(old, new))


def _v14_speaker_suggestions(db: sqlite_utils.Database) -> None:
    """Who speaks, trusted (issue 23): a stored voice below the naming threshold is a
    suggestion a volunteer confirms, and overlapped speech is marked on its segments.

    ``speaker_voices.suggested_person_id``/``suggested_similarity``: the person a voice print
    points to without naming them ("morda Ana Zupan, 0.72"). ``segments.overlap``: 1 where
    another voice talks over at least a third of the segment (the overlap detector's
    stretches); no names, so the mark is as public as the segment.
    """
    db.execute("ALTER TABLE speaker_voices ADD COLUMN suggested_person_id INTEGER "
               "REFERENCES people (id)")  # fmt: skip
    db.execute("ALTER TABLE speaker_voices ADD COLUMN suggested_similarity REAL")
    db.execute("ALTER TABLE segments ADD COLUMN overlap INTEGER NOT NULL DEFAULT 0")


def _v15_index_points(db: sqlite_utils.Database) -> None:
    """The interview index people write (issue 25): OHMS-style points and their history.

    * ``index_points``: a point at ``at`` seconds with a title, a partial transcript, a
      synopsis, keywords and subjects (JSON lists), a place (with coordinates from the
      gazetteer or typed) and links (JSON list of ``{"url", "label"}``). Machine suggestions
      are ``source = 'machine'`` drafts; only ``accepted`` points are ever published.
    * ``index_point_revisions``: every add, edit, accept and removal with who, when, and
      the point before and after (JSON), as corrections keep theirs in ``revisions``.
    * ``index_points_search``: accepted points' titles, synopses and keywords with their
      lemmas, filled by ``livingmemory.search`` (lemmas need Python); triggers list the
      recordings whose points changed in ``index_points_search_pending``.
    """
    db.execute(
        """
        CREATE TABLE index_points (
            id INTEGER PRIMARY KEY,
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            at REAL NOT NULL CHECK (at >= 0),    -- seconds into the recording
            title TEXT NOT NULL,
            partial_transcript TEXT,
            synopsis TEXT,
            keywords TEXT NOT NULL DEFAULT '[]', -- JSON list of strings
            subjects TEXT NOT NULL DEFAULT '[]', -- JSON list of strings
            place TEXT,
            lat REAL,
            lon REAL,
            links TEXT NOT NULL DEFAULT '[]',    -- JSON list of {"url", "label"}
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'accepted')),
            source TEXT NOT NULL DEFAULT 'volunteer' CHECK (source IN ('volunteer', 'machine')),
            created_by TEXT,
            created_at TEXT NOT NULL,
            updated_by TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_index_points_recording ON index_points (recording_id, at)")
    db.execute("CREATE INDEX idx_index_points_place ON index_points (place)")
    db.execute(
        """
        CREATE TABLE index_point_revisions (
            id INTEGER PRIMARY KEY,
            point_id INTEGER NOT NULL,           -- kept after the point is removed
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            action TEXT NOT NULL CHECK (action IN ('add', 'edit', 'accept', 'remove')),
            old TEXT,                            -- JSON: the point before (NULL for add)
            new TEXT,                            -- JSON: the point after (NULL for remove)
            author TEXT,
            created_at TEXT NOT NULL,
            note TEXT
        )
        """
    )
    db.execute(
        "CREATE INDEX idx_index_point_revisions_point ON index_point_revisions (point_id, id)"
    )
    db.execute(
        "CREATE VIRTUAL TABLE index_points_search USING fts5 (title, synopsis, keywords, "
        f'recording_id UNINDEXED, tokenize="{_SEARCH_TOKENIZE}")'
    )
    db.execute("CREATE TABLE index_points_search_pending (recording_id INTEGER PRIMARY KEY)")
    pending = (
        "INSERT OR IGNORE INTO index_points_search_pending (recording_id) "
        "VALUES ({row}.recording_id);"
    )
    for event, rows in (("INSERT", ("new",)), ("UPDATE", ("old", "new")), ("DELETE", ("old",))):
        body = " ".join(pending.format(row=row) for row in rows)
        db.execute(
            f"CREATE TRIGGER index_points_search_{event.lower()} AFTER {event} ON index_points "
            f"BEGIN {body} END"
        )
    # Publishing rewrites a recording whose index changed (the counter of issue 17).
    bump = (
        "INSERT INTO publish_changes (recording_id, version) VALUES ({row}.recording_id, 1) "
        "ON CONFLICT (recording_id) DO UPDATE SET version = version + 1;"
    )
    for event, rows in (("INSERT", ("new",)), ("UPDATE", ("old", "new")), ("DELETE", ("old",))):
        body = " ".join(bump.format(row=row) for row in rows)
        db.execute(
            f"CREATE TRIGGER index_points_publish_{event.lower()} AFTER {event} ON index_points "
            f"BEGIN {body} END"
        )


def _v16_trails(db: sqlite_utils.Database) -> None:
    """Heritage trails (issue 25): ordered stops, each a place with coordinates and one or
    more interview moments (a recording and a second). Composed by volunteers (workspace or
    ``livingmemory trail import``); publish copies only their public moments."""
    db.execute(
        """
        CREATE TABLE trails (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            description TEXT,
            language TEXT,
            updated_at TEXT,
            updated_by TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE trail_stops (
            id INTEGER PRIMARY KEY,
            trail_id INTEGER NOT NULL REFERENCES trails(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            place TEXT NOT NULL,
            latitude REAL NOT NULL,
            longitude REAL NOT NULL,
            title TEXT,
            description TEXT,
            UNIQUE (trail_id, position)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE trail_moments (
            id INTEGER PRIMARY KEY,
            stop_id INTEGER NOT NULL REFERENCES trail_stops(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            note TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_trail_moments_recording ON trail_moments (recording_id)")


def _v17_editor_drafts(db: sqlite_utils.Database) -> None:
    """The transcript editor's drafts, who has it open, and each volunteer's settings (#26).

    A draft is the editor's unsaved lines, autosaved every few seconds so a reload or a
    closed tab loses next to nothing; it is not a revision until the volunteer saves.
    ``base_transcript_id`` is the transcript the draft was made from: when someone else
    saves meanwhile the two differ, and the editor says so instead of overwriting.
    ``seen_at`` is the editor's last sign of life, so two people on one transcript are told.
    """
    db.execute(
        """
        CREATE TABLE drafts (
            recording_id INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
            author TEXT NOT NULL,
            base_transcript_id INTEGER,
            lines TEXT,                          -- JSON: the editor's lines; NULL: no draft
            updated_at TEXT,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (recording_id, author)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE volunteer_settings (
            name TEXT PRIMARY KEY,
            settings TEXT NOT NULL,              -- JSON: keys, skip and rewind seconds
            updated_at TEXT NOT NULL
        )
        """
    )


def _v18_overlap_published(db: sqlite_utils.Database) -> None:
    """Overlapped speech on the public site (issue 23): ``segments.overlap`` is published, so
    changing it must bump the recording's change counter (issue 17) like the other published
    columns; else an incremental publish would keep the old mark where a full one would not."""
    bump = (
        "INSERT INTO publish_changes (recording_id, version) VALUES ({row}.recording_id, 1) "
        "ON CONFLICT (recording_id) DO UPDATE SET version = version + 1;"
    )
    columns = "start, end, speaker, text, lemmas, suspect, overlap, recording_id, transcript_id"
    body = " ".join(bump.format(row=row) for row in ("old", "new"))
    db.execute("DROP TRIGGER segments_publish_update")
    db.execute(
        f"CREATE TRIGGER segments_publish_update AFTER UPDATE OF {columns} ON segments "
        f"BEGIN {body} END"
    )


Migration = Callable[[sqlite_utils.Database], None]
# MIGRATIONS[n] upgrades an archive from version n to version n + 1. Append only.
MIGRATIONS: list[Migration] = [
    _v1_catalogue,
    _v2_pipeline,
    _v3_transcription,
    _v4_tagging,
    _v5_redactions,
    _v6_review,
    _v7_honest_transcripts,
    _v8_workspace,
    _v9_search,
    _v10_claims,
    _v11_voices,
    _v12_publish_changes,
    _v13_live_publishing,
    _v14_speaker_suggestions,
    _v15_index_points,
    _v16_trails,
    _v17_editor_drafts,
    _v18_overlap_published,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> list[int]:
    """Bring ``db`` up to ``target``; return the versions applied (empty if already there)."""
    applied = []
    for version in range(schema_version(db), target):
        with db.atomic():
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        applied.append(version + 1)
    return applied
