"""Every message the volunteers' workspace shows, in plain Slovenian first (English below).

The library below the workspace speaks the command line's language: errors name options
(``--consent``), programs (``ffmpeg``) and ISO dates, because the CLI's users read them. A
volunteer correcting a transcript is not one of them, so the workspace never shows such a
message as it is: :func:`humane` turns each known library error into a short Slovenian
sentence that says what to do, with the English below it, and strips options and program
names from anything it does not know. Counts use :func:`plural` (Slovenian has a dual: "2
sumljivi vrstici", not "2 sumljivih vrstic"), and dates are shown the way volunteers type
them (:func:`typed_date`: "12. 5. 1975"), so a form sent back after an error reads as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from livingmemory.errors import InputError, LivingMemoryError


@dataclass(frozen=True)
class Message:
    """One message in Slovenian (``sl``) and English (``en``)."""

    sl: str
    en: str

    def __str__(self) -> str:
        return f"{self.sl} / {self.en}"

    def as_json(self) -> dict[str, str]:
        return {"error": self.sl, "error_en": self.en}

    def then(self, other: Message) -> Message:
        """This message followed by ``other``, in both languages."""
        return Message(f"{self.sl} {other.sl}", f"{self.en} {other.en}")


def plural(n: int, one: str, two: str, few: str, many: str) -> str:
    """``n`` with the Slovenian form its number takes: 1 vrstica, 2 vrstici, 3 vrstice, 5 vrstic.

    Slovenian chooses by the last two digits: 1 (101, 201 …) singular, 2 dual, 3 and 4 plural,
    everything else (0, 5 … 20, 100 …) the genitive plural.
    """
    last = abs(n) % 100
    form = one if last == 1 else two if last == 2 else few if last in (3, 4) else many
    return f"{n} {form}"


def typed_date(value: str | None) -> str:
    """An archive date (ISO, possibly partial) as a volunteer types it: ``12. 5. 1975``,
    ``5. 1975``, ``1975``. :func:`livingmemory.ingest.metadata.parse_date` reads each back to
    the same value, so a form shown again saves nothing new. (The public pages write months
    as words, ``site.pages.nice_date``; a form field needs the typed form.)"""
    if not value:
        return ""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value.strip())
    if not match:
        return value
    year, month, day = match.groups()
    if day:
        return f"{int(day)}. {int(month)}. {year}"
    if month:
        return f"{int(month)}. {year}"
    return year


def typed_time(iso: str | None) -> str:
    """A stored moment (ISO, UTC) as ``7. 12. 2026 05:32``, the date as volunteers write it."""
    if not iso:
        return ""
    date, _, clock = iso.partition("T")
    return f"{typed_date(date)} {clock[:5]}".strip()


ACCESS_NAMES = {
    "public": Message("javno", "public"),
    "restricted": Message("omejeno", "restricted"),
    "embargoed": Message("embargo", "embargoed"),
}


def field_value(field: str, value: str | None) -> str:
    """A value from the history of edits as the volunteer knows it (access in Slovenian,
    dates as typed)."""
    if value is None or value == "":
        return "—"
    if field == "access" and value in ACCESS_NAMES:
        return ACCESS_NAMES[value].sl
    if field in ("recorded_date", "embargo_until"):
        return typed_date(value)
    return value


BAD_REQUEST_SL = "Strežnik tega ni razumel; naložite stran znova."
BAD_REQUEST_EN = "The server did not understand this; reload the page."
AUDIO = Message(
    "Datoteke ni mogoče prebrati kot zvok. Je to res posnetek in je cel?",
    "The file cannot be read as sound. Is it a recording, and is it complete?",
)
DATE_HELP = "npr. 12. 5. 1975, 5. 1975 ali 1975"

# (pattern over the library's message, Slovenian, English); the groups fill the templates.
_KNOWN: list[tuple[str, str, str]] = [
    (r"public access needs a consent note",
     "Za javni dostop vpišite soglasje: kdo je privolil, kdaj in kako.",
     "Public access needs a consent note: who agreed, when and how."),
    (r"cannot be read as audio|not an audio file|could not decode audio|damaged audio"
     r"|truncated (WAV|Ogg)|the audio has no duration|empty file \(0 bytes\)",
     AUDIO.sl, AUDIO.en),
    (r"^(?:date|embargo_until) '(?P<v>.*)' is not a date",
     "Datuma »{v}« ni mogoče prebrati: vpišite ga " + DATE_HELP + ".",
     "The date '{v}' cannot be read: write it like 12. 5. 1975, 5. 1975 or 1975."),
    (r"^embargo_until '(?P<v>.*)' needs a full date",
     "Embargo potrebuje cel datum (dan, mesec, leto), npr. 1. 1. 2040.",
     "An embargo needs a full date (day, month, year), e.g. 1. 1. 2040."),
    (r"'(?P<v>.*)' is not a valid calendar date",
     "Datuma »{v}« ni v koledarju (preverite dan in mesec).",
     "The date '{v}' does not exist (check the day and month)."),
    (r"'(?P<v>.*)' is before (?P<y>\d+)",
     "Datum »{v}« je pred letom {y}: preverite letnico.",
     "The date '{v}' is before {y}: check the year."),
    (r"^date (?P<v>.*) is in the future",
     "Datum posnetka je v prihodnosti: preverite letnico.",
     "The recording's date is in the future: check the year."),
    (r"unknown language '(?P<v>.*?)'",
     "Jezika »{v}« ne poznamo: vpišite npr. sl (slovenščina), en, de ali hr.",
     "Unknown language '{v}': write e.g. sl (Slovenian), en, de or hr."),
    (r"access 'embargoed' needs an embargo date",
     "Za embargo vpišite datum, do katerega velja.",
     "An embargo needs the date it lasts until."),
    (r"an embargo date was given but access is",
     "Datum embarga velja samo, ko je dostop »embargo«: izberite embargo ali izbrišite datum.",
     "An embargo date only applies with access 'embargoed': choose it or clear the date."),
    (r"unknown access level",
     "Izberite dostop: javno, omejeno ali embargo.",
     "Choose the access: public, restricted or embargoed."),
    (r"passage (?P<a>\S+)-(?P<b>\S+) s is not inside recording .* \(0-(?P<d>\S+) s\)",
     "Odlomek {a}–{b} s ni znotraj posnetka (ta traja {d} s).",
     "The passage {a}–{b} s is not inside the recording ({d} s long)."),
    (r"the transcript has no (lines|text)",
     "Prepis je prazen: ostati mora vsaj ena vrstica z besedilom.",
     "The transcript is empty: keep at least one line with text."),
    (r"^line (?P<n>\d+): start must be before end",
     "Vrstica {n}: začetek mora biti pred koncem.",
     "Line {n}: the start must come before the end."),
    (r"^line (?P<n>\d+) has no valid start and end",
     "Vrstica {n}: čas začetka ali konca ni veljaven.",
     "Line {n}: the start or end time is not valid."),
    (r"obrazec ni poslal datotek",
     "Obrazec ni poslal datotek; izberite jih znova.",
     "The form sent no files; choose them again."),
    (r"izberite zvočno datoteko",
     "Izberite zvočno datoteko.", "Choose an audio file."),
    (r"key (?P<k>\S+) is given to two actions",
     "Tipka {k} je določena dvema dejanjema: vsako dejanje potrebuje svojo tipko.",
     "The key {k} is given to two actions: each action needs its own key."),
    (r"key '(?P<k>.*)' is not a key|a key is empty",
     "»{k}« ni ime tipke: pišite npr. Alt+M, Ctrl+Enter, F4 ali Escape.",
     "'{k}' is not a key: write e.g. Alt+M, Ctrl+Enter, F4 or Escape."),
    (r"key (?P<k>\S+) types text",
     "Tipka {k} piše besedilo: dodajte ji Ctrl ali Alt (npr. Alt+{k}).",
     "The key {k} types text: add Ctrl or Alt (e.g. Alt+{k})."),
    (r"^(?P<w>skip|rewind) must be",
     "Vpišite število sekund (skok od 0,5 do 60 s, previjanje od 0 do 10 s).",
     "Write a number of seconds (skip 0.5 to 60 s, rewind 0 to 10 s)."),
    (r"a draft is a list of lines", BAD_REQUEST_SL, BAD_REQUEST_EN),
    (r"cannot edit ",
     "Tega polja ni mogoče urejati.",
     "That field cannot be edited."),
]  # fmt: skip


def humane(problem: LivingMemoryError | str | None) -> Message:
    """A library error as the workspace says it: plain Slovenian, English below, no options,
    program names or record numbers."""
    if not problem:
        return Message("Tega ni bilo mogoče narediti.", "That could not be done.")
    text = problem.problem if isinstance(problem, InputError) else str(problem)
    text = re.sub(r"^#\d+:\s*", "", text.strip())
    for pattern, sl, en in _KNOWN:
        if match := re.search(pattern, text):
            values = {k: v or "" for k, v in match.groupdict().items()}
            return Message(sl.format(**values), en.format(**values))
    # Unknown: keep the library's words, without options, program details or file paths.
    cleaned = re.sub(r"\s*\((?:--|ffmpeg|ffprobe|use )[^)]*\)", "", text)
    cleaned = re.sub(r"\s--[a-z][a-z-]*", "", cleaned)
    cleaned = re.sub(r"(?:/[^\s/:]+)+/", "", cleaned)
    return Message("Tega ni bilo mogoče narediti.", cleaned or "That could not be done.")


# Messages the workspace pages say in their own words.
LOGIN_FAILED = Message("Napačno ime ali geslo.", "Wrong name or password.")
NOTHING_CHANGED = Message("Ni sprememb.", "Nothing changed.")
REMOVED_FROM_PUBLIC = Message("Umaknjeno z javne strani.", "Removed from the public site.")
CONFLICT = Message(
    "Medtem je prepis shranil(a) {who}. Vaše spremembe so varno shranjene kot osnutek; "
    "naložite stran znova, da vidite novo različico, in jih prenesite vanjo.",
    "{who} saved this transcript meanwhile. Your changes are kept as a draft; reload the "
    "page to see the new version and carry them over.",
)
TOO_LARGE = Message("Sprememba je prevelika za shranjevanje.", "Too large to save.")
BAD_REQUEST = Message(BAD_REQUEST_SL, BAD_REQUEST_EN)
SETTINGS_SAVED = Message("Nastavitve so shranjene.", "Settings saved.")
CHOOSE_AUDIO = Message("izberite zvočno datoteko", "choose an audio file")
NOT_AN_UPLOAD = Message("obrazec ni poslal datotek", "the form sent no files")
FORM_EXPIRED = Message(
    "Obrazec je potekel ali ni s te strani; naložite stran znova.",
    "The form has expired or is not from this page; reload the page.",
)


def saved_changes(count: int) -> Message:
    return Message(
        f"Shranjeno: {plural(count, 'sprememba', 'spremembi', 'spremembe', 'sprememb')}.",
        f"Saved: {count} change{'s' if count != 1 else ''}.",
    )


def upload_too_large(limit_mb: int) -> Message:
    return Message(
        f"Datoteka je prevelika: naložite lahko največ {limit_mb} MB naenkrat.",
        f"The file is too large: at most {limit_mb} MB per upload.",
    )


def conflict(who: str | None) -> Message:
    name = who or "nekdo drug"
    return Message(CONFLICT.sl.format(who=name), CONFLICT.en.format(who=who or "someone else"))
