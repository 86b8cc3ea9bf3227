"""The transcript editor's own state: drafts, who has a transcript open, keys and settings.

A correction is only a revision once the volunteer saves (:func:`livingmemory.review.workspace.
save_transcript`). Until then the editor autosaves its lines here every few seconds and when
the tab closes, so a reload, a crash or a closed laptop loses at most a few seconds of typing.
Each draft remembers the transcript it was made from: if somebody else saves a newer one
meanwhile, :func:`check_base` refuses the older draft's save instead of silently overwriting
the other person's work, and :func:`presence` tells both editors that the other is there.

Every action of the editor has a key; :data:`ACTIONS` lists them with their default keys,
and each volunteer may choose other keys (and the skip and rewind seconds), stored per
volunteer by :func:`save_settings`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from pathlib import Path
from typing import Any

from livingmemory.archive.store import Archive, utc_now
from livingmemory.errors import LivingMemoryError

# A sign of life newer than this means the other person still has the editor open.
PRESENT_SECONDS = 30
MAX_DRAFT_LINES = 20_000

# action -> (default key, Slovenian, English). The editor (static/editor.js) binds these
# names; the keys page and the settings page list them from here.
ACTIONS: dict[str, tuple[str, str, str]] = {
    "toggle": ("Escape", "predvajaj / ustavi", "play / pause"),
    "back": ("F1", "skok nazaj", "skip back"),
    "forward": ("F4", "skok naprej", "skip forward"),
    "slower": ("F2", "počasneje", "slower"),
    "faster": ("Shift+F2", "hitreje", "faster"),
    "play_line": ("Alt+L", "predvajaj to vrstico", "play this line"),
    "set_start": ("Alt+Z", "začetek vrstice = zdaj", "set the line's start to now"),
    "set_end": ("Alt+K", "konec vrstice = zdaj", "set the line's end to now"),
    "start_earlier": ("Alt+Q", "začetek 0,1 s prej", "start 0.1 s earlier"),
    "start_later": ("Alt+W", "začetek 0,1 s pozneje", "start 0.1 s later"),
    "end_earlier": ("Alt+O", "konec 0,1 s prej", "end 0.1 s earlier"),
    "end_later": ("Alt+P", "konec 0,1 s pozneje", "end 0.1 s later"),
    "suspect": ("F3", "naslednja sumljiva vrstica", "next suspect line"),
    "previous": ("Alt+ArrowUp", "prejšnja vrstica", "previous line"),
    "next": ("Alt+ArrowDown", "naslednja vrstica", "next line"),
    "split": ("Ctrl+Enter", "razdeli vrstico pri kazalcu", "split at the cursor"),
    "merge": ("Alt+M", "združi z naslednjo", "merge with the next line"),
    "reviewed": ("Alt+R", "pregledano, na naslednjo", "mark reviewed, go on"),
    "find": ("Ctrl+H", "najdi in zamenjaj", "find and replace"),
    "voice": ("Alt+V", "preimenuj govorca povsod", "rename a voice everywhere"),
    "redact": ("Alt+X", "izloči odlomek iz objave", "withhold a passage from publishing"),
    "save": ("Ctrl+S", "shrani", "save"),
    # The index panel's "add a point here" (static/index.js): listed here so that it has
    # its own key (it had Alt+K, set_end's) and the settings refuse a clash with it.
    "index_add": ("Alt+I", "točka kazala tukaj", "add an index point here"),
}
DEFAULT_SETTINGS: dict[str, Any] = {
    "keys": {action: key for action, (key, _, _) in ACTIONS.items()},
    "skip_seconds": 5.0,
    "rewind_seconds": 1.0,
}
# What a key is called: modifiers in this order, then a letter, digit or key name
# ("Alt+M", "Ctrl+Enter", "Shift+F2", "Escape"), as the editor writes a pressed key.
KEY = re.compile(
    r"^(Ctrl\+)?(Alt\+)?(Shift\+)?([A-Z0-9]|F[1-9]|F1[0-2]|[A-Z][A-Za-z]+|[.,;/\-=\[\]'`\\])$"
)


def _now() -> str:
    return utc_now()


# -- drafts ---------------------------------------------------------------------------------


def current_transcript_id(archive: Archive, recording_id: int) -> int | None:
    current = archive.current_transcript(recording_id)
    return current["id"] if current else None


def _check_lines(lines: Any) -> str:
    """The draft's lines as JSON, after a shape check (a draft is never applied unchecked:
    saving it goes through ``workspace.parse_lines`` like any save)."""
    if not isinstance(lines, list) or len(lines) > MAX_DRAFT_LINES:
        raise LivingMemoryError("a draft is a list of lines")
    if not all(isinstance(line, dict) for line in lines):
        raise LivingMemoryError("a draft is a list of lines")
    return json.dumps(lines, ensure_ascii=False)


def save_draft(
    archive: Archive, recording_id: int, author: str, lines: Any, base: int | None
) -> dict[str, Any]:
    """Keep ``author``'s unsaved lines (``None``: only a sign of life); returns who else is
    editing and whether the transcript changed under the draft (see :func:`presence`)."""
    archive.recording(recording_id)  # a clear error for an unknown recording
    text = None if lines is None else _check_lines(lines)
    now = _now()
    with archive.db.atomic():
        if text is None:
            archive.db.execute(
                "INSERT INTO drafts (recording_id, author, base_transcript_id, seen_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (recording_id, author) DO UPDATE SET "
                "seen_at = excluded.seen_at",
                [recording_id, author, base, now],
            )
        else:
            archive.db.execute(
                "INSERT INTO drafts (recording_id, author, base_transcript_id, lines, "
                "updated_at, seen_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (recording_id, author) DO UPDATE SET lines = excluded.lines, "
                "base_transcript_id = excluded.base_transcript_id, "
                "updated_at = excluded.updated_at, seen_at = excluded.seen_at",
                [recording_id, author, base, text, now, now],
            )
    return {
        "saved_at": now if text is not None else None,
        **presence(archive, recording_id, author, base),
    }


def load_draft(archive: Archive, recording_id: int, author: str) -> dict[str, Any] | None:
    """``author``'s draft of the recording: lines, base transcript, when; ``None`` if none."""
    row = archive.db.execute(
        "SELECT lines, base_transcript_id, updated_at FROM drafts WHERE recording_id = ? "
        "AND author = ? AND lines IS NOT NULL",
        [recording_id, author],
    ).fetchone()
    if row is None:
        return None
    return {"lines": json.loads(row[0]), "base": row[1], "updated_at": row[2]}


def discard_draft(archive: Archive, recording_id: int, author: str) -> None:
    """Forget the draft (after a save, or when the volunteer throws it away)."""
    with archive.db.atomic():
        archive.db.execute(
            "UPDATE drafts SET lines = NULL, updated_at = NULL, base_transcript_id = ? "
            "WHERE recording_id = ? AND author = ?",
            [current_transcript_id(archive, recording_id), recording_id, author],
        )


def presence(
    archive: Archive, recording_id: int, author: str, base: int | None = None
) -> dict[str, Any]:
    """Who else has the editor open (a sign of life in the last :data:`PRESENT_SECONDS`),
    who else keeps unsaved changes, and whether the transcript changed since ``base``."""
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=PRESENT_SECONDS)).isoformat(
        timespec="seconds"
    )
    others = list(
        archive.db.query(
            "SELECT author, seen_at >= ? AS present, lines IS NOT NULL AS drafting "
            "FROM drafts WHERE recording_id = ? AND author != ? ORDER BY author",
            [since, recording_id, author],
        )
    )
    current = current_transcript_id(archive, recording_id)
    return {
        "editing": [o["author"] for o in others if o["present"]],
        "drafting": [o["author"] for o in others if o["drafting"] and not o["present"]],
        "current": current,
        "changed": base is not None and current != base,
    }


def check_base(archive: Archive, recording_id: int, base: int | None) -> str | None:
    """``None`` when a save made from transcript ``base`` overwrites nobody; otherwise the
    name of whoever saved a newer transcript meanwhile (or ``""`` when nobody is named)."""
    current = archive.current_transcript(recording_id)
    if base is None or current is None or current["id"] == base:
        return None
    row = archive.db.execute(
        "SELECT author FROM revisions WHERE transcript_id = ? ORDER BY id DESC LIMIT 1",
        [current["id"]],
    ).fetchone()
    return (row[0] if row else None) or ""


# -- the waveform ---------------------------------------------------------------------------

PEAKS_PER_SECOND = 20
MAX_PEAKS = 20_000


def waveform_peaks(path: Path, duration: float) -> list[float]:
    """The loudest sample of each 1/20 s (fewer for long recordings), scaled to 0..1.

    Decoded once at a low rate (4 kHz mono is enough to draw a waveform); the editor draws
    these on a canvas, so no waveform library has to decode the audio in the browser.
    """
    import numpy as np

    from livingmemory.archive.audio import load_audio

    rate = 4000
    samples = np.abs(load_audio(path, sample_rate=rate))
    count = max(1, min(MAX_PEAKS, round((duration or len(samples) / rate) * PEAKS_PER_SECOND)))
    if samples.size == 0:
        return [0.0] * count
    edges = np.linspace(0, samples.size, count + 1).astype(int)
    peaks = np.array([samples[a:b].max() if b > a else 0.0 for a, b in itertools.pairwise(edges)])
    top = float(peaks.max()) or 1.0
    return [round(float(p) / top, 3) for p in peaks]


# -- settings -------------------------------------------------------------------------------


def load_settings(archive: Archive, name: str) -> dict[str, Any]:
    """The volunteer's settings over the defaults (an action added later gets its key)."""
    row = archive.db.execute(
        "SELECT settings FROM volunteer_settings WHERE name = ?", [name]
    ).fetchone()
    stored = json.loads(row[0]) if row else {}
    keys = {**DEFAULT_SETTINGS["keys"], **(stored.get("keys") or {})}
    return {**DEFAULT_SETTINGS, **stored, "keys": {a: keys[a] for a in ACTIONS}}


def _number(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        raise LivingMemoryError(f"{name} must be a number of seconds") from None
    if not low <= number <= high:
        raise LivingMemoryError(f"{name} must be between {low:g} and {high:g} seconds")
    return number


def normal_key(value: str) -> str:
    """A key as typed ("alt+m", "ctrl + s", "esc") in the editor's spelling ("Alt+M")."""
    parts = [p.strip() for p in str(value).split("+") if p.strip()]
    if not parts:
        raise LivingMemoryError("a key is empty")
    names = {"ctrl": "Ctrl", "control": "Ctrl", "alt": "Alt", "shift": "Shift"}
    modifiers = {names[p.lower()] for p in parts[:-1] if p.lower() in names}
    if len(modifiers) != len(parts) - 1:
        raise LivingMemoryError(f"key {value!r} is not a key")
    key = parts[-1]
    aliases = {"esc": "Escape", "enter": "Enter", "space": "Space", "up": "ArrowUp",
               "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight"}  # fmt: skip
    key = aliases.get(key.lower(), key.upper() if len(key) == 1 else key[0].upper() + key[1:])
    spelled = "".join(f"{m}+" for m in ("Ctrl", "Alt", "Shift") if m in modifiers) + key
    if not KEY.match(spelled):
        raise LivingMemoryError(f"key {value!r} is not a key")
    typing = len(key) == 1 or key in ("Space", "Enter", "Backspace", "Delete", "Tab")
    if typing and not modifiers & {"Ctrl", "Alt"}:
        raise LivingMemoryError(f"key {spelled} types text: add Ctrl or Alt")
    return spelled


def save_settings(archive: Archive, name: str, wanted: dict[str, Any]) -> dict[str, Any]:
    """Store the volunteer's keys and seconds; refuses an unknown key, a key given to two
    actions, or seconds out of range (nothing is stored then)."""
    settings = load_settings(archive, name)
    keys = dict(settings["keys"])
    for action, key in (wanted.get("keys") or {}).items():
        if action not in ACTIONS:
            raise LivingMemoryError(f"unknown action {action!r}")
        keys[action] = normal_key(key) if str(key).strip() else ACTIONS[action][0]
    taken: dict[str, str] = {}
    for action, key in keys.items():
        if key in taken:
            raise LivingMemoryError(f"key {key} is given to two actions: {taken[key]}, {action}")
        taken[key] = action
    settings["keys"] = keys
    if "skip_seconds" in wanted:
        settings["skip_seconds"] = _number(wanted["skip_seconds"], "skip", 0.5, 60)
    if "rewind_seconds" in wanted:
        settings["rewind_seconds"] = _number(wanted["rewind_seconds"], "rewind", 0, 10)
    with archive.db.atomic():
        archive.db.execute(
            "INSERT INTO volunteer_settings (name, settings, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, "
            "updated_at = excluded.updated_at",
            [name, json.dumps(settings, ensure_ascii=False), _now()],
        )
    return settings
