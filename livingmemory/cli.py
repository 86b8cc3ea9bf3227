"""The ``livingmemory`` command. Each command parses, calls one library function, prints.

Errors a volunteer can fix arrive as :class:`LivingMemoryError` and are printed as one line
on stderr with a non-zero exit; the library never calls ``sys.exit`` itself.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import wraps
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from livingmemory import __version__, plugins
from livingmemory.archive.store import DEFAULT_ARCHIVE, current_user, init_archive, open_archive
from livingmemory.errors import (
    MAX_MESSAGE_CHARS,
    LivingMemoryError,
    one_line,
    quoted,
    readable,
    write_text,
)
from livingmemory.ingest.metadata import ACCESS_LEVELS, DEFAULT_ACCESS, Person, RecordingMetadata
from livingmemory.timecodes import clock, hms

if TYPE_CHECKING:
    from rich.progress import TaskID

# An error or warning line, its "Error: " included, is at most MAX_MESSAGE_CHARS long.
_LINE = MAX_MESSAGE_CHARS - len("Warning: ")


def _usage_errors() -> tuple[type[Exception], ...]:
    """Typer >= 0.24 raises its own copy of click's exceptions; older Typer raises click's."""
    try:
        from click import ClickException
    except ImportError:  # pragma: no cover - click is a dependency of Datasette and Dask
        return (typer.TyperException,)
    return (typer.TyperException, ClickException)


class _OneLineErrors(typer.core.TyperGroup):
    """Usage errors (``show abc``, ``serve --port 99999``) as one line on stderr.

    Typer draws them as a boxed panel with the usage above; a volunteer needs the one
    sentence that says what is wrong, and where the help is.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            value = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _usage_errors() as error:
            if not standalone_mode:
                raise
            ctx = getattr(error, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            format_message = getattr(error, "format_message", None)
            message = format_message() if format_message else str(error)
            if message.strip():  # bare 'livingmemory': the help was shown, nothing went wrong
                err_console.print(
                    f"[red]Error:[/red] {escape(one_line(message + where, _LINE))}", highlight=False
                )
            sys.exit(getattr(error, "exit_code", 2))
        except typer.Abort:
            if not standalone_mode:
                raise
            err_console.print("Aborted.")
            sys.exit(1)
        if standalone_mode:
            sys.exit(value if isinstance(value, int) else 0)
        return value


app = typer.Typer(
    cls=_OneLineErrors,
    name="livingmemory",
    help=(
        "Living Memory: an oral-history archive on your own computer.\n\n"
        "Start with 'livingmemory init', then 'livingmemory add interview.mp3 --narrator ...'. "
        "Recordings are copied into recordings/ and never changed; everything is kept in one "
        "SQLite file (archive.db) that Datasette can publish."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
# soft_wrap: one line per file even in logs and pipes (paths are never broken at 80 columns)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ArchiveOption = Annotated[
    Path,
    typer.Option(
        "--archive",
        "-a",
        envvar="LIVINGMEMORY_ARCHIVE",
        help="The archive file (its recordings/ folder sits beside it).",
        show_default=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ClusterOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="Work on Dask workers: 'local' (one worker per core) or a scheduler address "
        "(tcp://host:8786). This process stays the only archive writer."
    ),
]
WorkersOption = Annotated[
    int, typer.Option(min=0, help="Workers for --cluster local (0: sized to the machine).")
]


def _load_plugins() -> plugins.Plugins:
    """The plug-ins, loaded once (their engines, languages and formats appear in the help);
    one that cannot load is one yellow line on stderr, never a traceback."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", plugins.PluginWarning)
        loaded = plugins.get()
    for problem in loaded.problems:
        err_console.print(
            f"[yellow]Warning:[/yellow] {escape(one_line(problem, _LINE))}", highlight=False
        )
    return loaded


def _names(registry: dict[str, Any], condition: Callable[[Any], Any] = bool) -> str:
    return ", ".join(name for name, item in registry.items() if condition(item.value))


_PLUGINS = _load_plugins()

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(function: F) -> F:
    """Turn a :class:`LivingMemoryError` into one red line on stderr and exit status 1."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except LivingMemoryError as error:
            err_console.print(
                f"[red]Error:[/red] {escape(one_line(str(error), _LINE))}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
        except OverflowError:  # a number past SQLite's 2**63 - 1 (an id like 99999999999999999999)
            err_console.print("[red]Error:[/red] a number is too large", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"livingmemory {__version__}")
        raise typer.Exit()


def _one_line_warning(
    message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    """A library warning as one yellow line: no file name, no source line."""
    err_console.print(
        f"[yellow]Warning:[/yellow] {escape(one_line(str(message), _LINE))}", highlight=False
    )


@app.callback()
def main(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Living Memory: an oral-history archive on your own computer."""
    warnings.showwarning = _one_line_warning


@app.command()
@friendly_errors
def init(
    path: Annotated[
        Path, typer.Argument(help="Archive file to create (or a folder to create it in).")
    ] = DEFAULT_ARCHIVE,
) -> None:
    """Create an archive, its recordings/ folder and a starter metadata.yml.

    Nothing that already exists is overwritten; an existing archive is only upgraded.
    """
    result = init_archive(path)
    for created in result.created:
        console.print(f"created  {created}", highlight=False)
    for kept in result.kept:
        console.print(f"kept     {kept} (already there)", highlight=False)


# Long: its typer options (metadata fields) are the signature; the body calls ingest.add and prints.
@app.command()
@friendly_errors
def add(
    files: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Argument(
            help="Audio files (WAV, FLAC, MP3, M4A, OGG, Opus...) or folders.", show_default=False
        ),
    ] = None,
    from_csv: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--from-csv",
            help="A spreadsheet saved as CSV: a 'file' column plus any metadata columns "
            "(title, narrator, interviewer, date, place, language, access, embargo_until, "
            "consent, notes). Files are relative to the CSV.",
        ),
    ] = None,
    title: Annotated[Optional[str], typer.Option(help="Title of the interview.")] = None,  # noqa: UP045
    narrator: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="Who tells the story (repeat for several)."),
    ] = None,
    interviewer: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="Who asks the questions (repeat for several)."),
    ] = None,
    date: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="When it was recorded: 1987, 1987-05 or 1987-05-12 (or 12. 5. 1987)."),
    ] = None,
    place: Annotated[Optional[str], typer.Option(help="Where it was recorded.")] = None,  # noqa: UP045
    language: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Language spoken: sl, en, de, hr... (or its name)."),
    ] = None,
    access: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help=f"Who may hear it: {', '.join(ACCESS_LEVELS)}. Default {DEFAULT_ACCESS}: "
            "nothing is published without consent."
        ),
    ] = None,
    embargo_until: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Embargoed until this date (YYYY-MM-DD); implies --access embargoed."),
    ] = None,
    consent: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Consent notes (private, never published)."),
    ] = None,
    notes: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Internal notes (private, never published)."),
    ] = None,
    added_by: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Your name, recorded with the entry (default: your login)."),
    ] = None,
    interview: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Key shared by the parts of one interview recorded on several tapes."),
    ] = None,
    part: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Which part (1, 2...) of --interview this file is."),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Add interview recordings to the archive, with their metadata.

    Metadata comes from the options, from a sidecar file next to each recording
    (interview.mp3 + interview.yml), or from a CSV spreadsheet (--from-csv); options win.
    A folder adds every audio file in it and its sub-folders.
    The original file is copied byte-for-byte and never changed. Adding the same audio
    twice does nothing. Files that fail are reported and the others are still added.
    """
    from livingmemory.archive.audio import require_ffmpeg
    from livingmemory.ingest.add import AddRequest, add_many, requests_from_csv

    if not files and not from_csv:
        raise LivingMemoryError("name at least one audio file, or a spreadsheet with --from-csv")
    overrides = RecordingMetadata(
        title=title,
        narrators=tuple(Person(n) for n in narrator or ()),
        interviewers=tuple(Person(n) for n in interviewer or ()),
        recorded_date=date,
        place=place,
        language=language,
        access=access,
        embargo_until=embargo_until,
        consent_notes=consent,
        notes=notes,
        added_by=added_by,
        interview=interview,
        part=part,
    )
    require_ffmpeg()
    from livingmemory.ingest.add import expand_paths

    audio_paths, _sidecars = expand_paths(files or ())
    if files and not audio_paths and not from_csv:
        raise LivingMemoryError(f"{', '.join(str(f) for f in files)}: no audio files in it")
    requests = [AddRequest(path, overrides) for path in audio_paths]
    if from_csv:
        requests += requests_from_csv(from_csv, overrides)
    with open_archive(archive_path) as archive:
        results = add_many(archive, requests, on_result=None if as_json else _print_result)
    if as_json:
        print(json.dumps([_result_json(r) for r in results], ensure_ascii=False, indent=2))
    failed = [r for r in results if r.status == "failed"]
    if len(results) > 1 and not as_json:
        added = sum(r.status == "added" for r in results)
        dupes = sum(r.status == "duplicate" for r in results)
        console.print(f"{added} added, {dupes} already there, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def _print_result(result: Any) -> None:
    if result.status == "failed":
        err_console.print(
            f"[red]Error:[/red] {escape(one_line(result.message, _LINE))}",
            highlight=False,
            soft_wrap=True,
        )
    elif result.status == "duplicate":
        console.print(
            f"skipped  {readable(str(result.path))}: {readable(result.message)}", highlight=False
        )
    else:
        info = result.info
        channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
        console.print(
            f"added    #{result.recording_id} {readable(str(result.path))} "
            f"({_duration(info.duration)}, {info.format}, {info.sample_rate} Hz {channels})"
            + (f" (metadata from {result.sidecar.name})" if result.sidecar else ""),
            highlight=False,
        )
        if "(took the copy" in result.message:  # a leftover of a killed add was adopted
            err_console.print(f"[yellow]Note:[/yellow] {readable(result.message)}", highlight=False)


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "file": readable(str(result.path)),
        "status": result.status,
        "recording_id": result.recording_id,
        "message": result.message,
        "sidecar": str(result.sidecar) if getattr(result, "sidecar", None) else None,
    }


def _timecode(seconds: float) -> str:
    return f"[{hms(seconds)}]"


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else clock(seconds, pad_minutes=False, nearest=True)


@app.command("list")
@friendly_errors
def list_recordings(
    archive_path: ArchiveOption = DEFAULT_ARCHIVE, as_json: JsonOption = False
) -> None:
    """List the recordings in the archive and how far each has got (added, transcribed, tagged)."""
    with open_archive(archive_path) as archive:
        rows = archive.recordings()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(f"{archive_path} has no recordings yet: add some with 'livingmemory add'.")
        return
    table = Table(title=f"{len(rows)} recording(s) in {archive_path}")
    for column in (
        "ID",
        "Title",
        "Narrators",
        "Date",
        "Place",
        "Lang",
        "Access",
        "Length",
        "State",
    ):
        table.add_column(
            column,
            justify="right" if column in ("ID", "Length") else "left",
            no_wrap=column in ("ID", "Lang", "Length"),
        )
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["title"] or "",
            row["narrators"] or "",
            row["recorded_date"] or "",
            row["place"] or "",
            row["language"] or "?",
            row["access"],
            _duration(row["duration"]),
            row["state"]
            + ("  ⚠ names not heard" if "names_not_heard" in (row.get("warnings") or "") else ""),
        )
    console.print(table)


@app.command()
@friendly_errors
def show(
    recording_id: Annotated[int, typer.Argument(help="The recording's number (see 'list').")],
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Show everything the archive knows about one recording, and its current transcript."""
    with open_archive(archive_path) as archive:
        record = archive.recording(recording_id)
        segments = archive.current_segments(recording_id)
        from livingmemory.review.workspace import recording_tags

        tags = recording_tags(archive, recording_id)
    if as_json:
        record["tags"] = tags
        record["transcript"] = segments
        print(json.dumps(record, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, title=f"Recording #{recording_id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    people = record.pop("people")
    for key, value in record.items():
        if key == "duration":
            value = f"{_duration(value)} ({value} s)"
        table.add_row(key, "" if value is None else str(value))
    for person in people:
        details = ", ".join(
            str(x) for x in (person["birth_year"] and f"b. {person['birth_year']}",
                             person["home_place"]) if x
        )  # fmt: skip
        table.add_row(person["role"], person["name"] + (f" ({details})" if details else ""))
    if tags:
        labels = [
            f"{t['name']} ({t['label']}" + (f" x{t['mentions']})" if t["mentions"] > 1 else ")")
            for t in tags
        ]
        table.add_row("tags", escape("; ".join(labels)))
    console.print(table)
    for segment in segments:
        flags = json.loads(segment["flags"]) if segment["flags"] else []
        speaker = f"{segment['speaker']}: " if segment["speaker"] else ""
        warning = f"  [yellow]⚠ {', '.join(flags)}[/yellow]" if flags else ""
        if segment.get("overlap"):  # another voice talks over it (issue 23)
            warning += "  [magenta]⇄ hkrati govori še nekdo[/magenta]"
        text = escape(speaker + segment["text"])
        console.print(f"[dim]{_timecode(segment['start'])}[/dim] {text}{warning}", highlight=False)


# Long: its 24 typer options are the signature; the body builds settings, calls the library, prints.
@app.command()
@friendly_errors
def transcribe(
    recording_ids: Annotated[
        Optional[list[int]],  # noqa: UP045
        typer.Argument(help="Recordings to transcribe (default: every one without a transcript)."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help=f"One of: {_names(_PLUGINS.engines)} (faster-whisper is fast, the default; "
            "openai-whisper the reference)."
        ),
    ] = "faster-whisper",
    model: Annotated[
        str,
        typer.Option(help="Model name (base, tiny.en, small...) or a model folder. See 'models'."),
    ] = "base",
    language: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="Force a language (sl, en, de...); 'auto' to detect. "
            "Default: each recording's own language from its metadata."
        ),
    ] = None,
    prompt: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="A prompt for Whisper (words to spell right). Segments that merely repeat "
            "it are flagged prompt_echo and never tagged."
        ),
    ] = None,
    metadata_prompt: Annotated[
        bool,
        typer.Option(
            help="Prompt Whisper with the people and place from the metadata. Off by default: "
            "measured, the base model then writes those names where nobody says them."
        ),
    ] = False,
    beam_size: Annotated[int, typer.Option(min=1, max=10, help="1 = greedy (faster).")] = 5,
    compute_type: Annotated[
        str,
        typer.Option(
            help="Precision: default (faster-whisper int8), float32, int8_float32... "
            "(see README: measured WER per setting)."
        ),
    ] = "default",
    vad: Annotated[
        bool, typer.Option(help="Skip silence with Silero VAD (offline; both engines).")
    ] = False,
    word_timestamps: Annotated[
        bool,
        typer.Option(help="Store each word's time and probability (segment confidence)."),
    ] = True,
    per_channel: Annotated[
        bool,
        typer.Option(
            "--per-channel",
            help="Always transcribe each channel of a stereo file separately (left = "
            "interviewer, right = narrator). Default: only when the channels carry "
            "different voices.",
        ),
    ] = False,
    mix: Annotated[
        bool,
        typer.Option("--mix", help="Always mix stereo down to one channel."),
    ] = False,
    min_language_probability: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            min=0.0,
            max=1.0,
            help="Detected languages below this probability are not trusted: the recording "
            "is marked 'language uncertain' and left untranscribed (default: 0.5, from "
            "Thresholds in transcription/quality.py).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Transcribe again; earlier transcripts are kept.")
    ] = False,
    diarize: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--diarize/--no-diarize",
            help="Who is speaking (default: on for mono recordings with several people).",
        ),
    ] = None,
    speakers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="How many voices there are, when known."),
    ] = None,
    min_speakers: Annotated[Optional[int], typer.Option(min=1)] = None,  # noqa: UP045
    max_speakers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="Bounds on the number of voices (default: the people)."),
    ] = None,
    cluster: ClusterOption = None,
    workers: WorkersOption = 0,
    send_audio: Annotated[
        bool,
        typer.Option(help="With --cluster: send the audio to workers (no shared folder)."),
    ] = False,
    batched: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--batched/--sequential",
            help="faster-whisper: decode VAD-cut chunks in batches (see README) or in order.",
        ),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Transcribe recordings with Whisper, offline, into time-coded segments.

    Each recording is saved as soon as it is done: interrupt with Ctrl-C at any time and run
    the command again to continue where it stopped.
    """
    from livingmemory.speakers.turns import DiarizeSettings
    from livingmemory.transcription.pipeline import TranscribeSettings, transcribe_recordings

    settings = TranscribeSettings(
        engine=engine,
        model=model,
        language=language,
        prompt=prompt,
        metadata_prompt=metadata_prompt,
        beam_size=beam_size,
        compute_type=compute_type,
        vad=vad,
        word_timestamps=word_timestamps,
        per_channel=_channel_choice(per_channel, mix),
        force=force,
        diarization=DiarizeSettings(diarize, speakers, min_speakers, max_speakers),
        batched=bool(batched),
    )
    if min_language_probability is not None:
        settings = replace(settings, min_language_probability=min_language_probability)
    if cluster:
        from livingmemory.transcription.distributed import check_address

        check_address(cluster)
    with open_archive(archive_path) as archive:
        from livingmemory.transcription.pipeline import pending_recordings

        if not as_json and pending_recordings(archive, recording_ids, force=force):
            from livingmemory.transcription.engines import get_engine
            from livingmemory.transcription.models import resolve

            get_engine(settings.engine)  # an unknown engine or model is one clear error,
            resolve(model)  # before any promise
            # Loading a model takes seconds to minutes; say so before the silence.
            err_console.print(f"loading model {model}...", highlight=False)
        reporter = _TranscribeProgress(quiet=as_json)
        try:
            with reporter:
                if cluster:  # decoding on Dask workers; this process stays the writer
                    from livingmemory.transcription import distributed

                    batch = distributed.transcribe_on_cluster(
                        archive, recording_ids, settings, reporter, cluster=cluster,
                        workers=workers, send_audio=send_audio,
                    )  # fmt: skip
                else:
                    batch = transcribe_recordings(archive, recording_ids, settings, reporter)
        except KeyboardInterrupt:
            done = reporter.done
            err_console.print(
                f"Interrupted: {done} recording(s) finished and saved; "
                "run the same command again to continue."
            )
            raise typer.Exit(130) from None
    if as_json:
        print(json.dumps([o.__dict__ for o in batch.outcomes], ensure_ascii=False, indent=2))
    elif not batch.outcomes:
        console.print("Nothing to transcribe: every recording has a transcript (--force to redo).")
    if batch.failed:
        raise typer.Exit(1)


def _channel_choice(per_channel: bool, mix: bool) -> bool | None:
    if per_channel and mix:
        raise LivingMemoryError("--per-channel and --mix contradict each other: choose one")
    return True if per_channel else False if mix else None


class _TranscribeProgress:
    """A rich progress bar over audio seconds for the whole batch."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.quiet = quiet
        self.done = 0
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=quiet,
            transient=False,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> _TranscribeProgress:
        self.bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.__exit__(exc_type, exc, tb)

    def begin(self, total_seconds: float, recordings: int) -> None:
        self.task = self.bar.add_task(f"{recordings} recording(s)", total=total_seconds)

    def recording(self, row: dict[str, Any]) -> None:
        assert self.task is not None  # begin() comes first
        self.bar.update(self.task, description=f"#{row['id']} {row['title'][:30]}")

    def advance(self, seconds: float) -> None:
        assert self.task is not None  # begin() comes first
        self.bar.advance(self.task, seconds)

    def finished(self, outcome: Any) -> None:
        if outcome.status == "transcribed":
            self.done += 1
            if not self.quiet:
                extra = f", {outcome.suspect} suspect" if outcome.suspect else ""
                extra += (
                    f", {outcome.dropped} span(s) with sound but no text" if outcome.dropped else ""
                )
                if outcome.channels not in ("mix", "mono"):
                    extra += f"; {outcome.channels}"
                self.bar.console.print(
                    f"transcribed #{outcome.recording_id}: {outcome.segments} segments "
                    f"({outcome.language}){extra}",
                    highlight=False,
                )
                if "names_not_heard" in outcome.warnings:
                    self.bar.console.print(
                        f"[yellow]Check #{outcome.recording_id}:[/yellow] nobody and nothing "
                        "named in its metadata is heard in the transcript; review it "
                        "before publishing.",
                        highlight=False,
                    )
        elif outcome.status == "uncertain":
            self.bar.console.print(
                f"[yellow]Skipped #{outcome.recording_id}:[/yellow] {outcome.message}",
                highlight=False,
            )
        elif outcome.status == "skipped":
            self.bar.console.print(
                f"skipped #{outcome.recording_id}: {outcome.message}", highlight=False
            )
        else:
            self.bar.console.print(
                f"[red]Error:[/red] #{outcome.recording_id}: {outcome.message}", highlight=False
            )


# Long: its typer options (cluster, workers, force...) are the signature; the body calls the
# library and prints.
@app.command()
@friendly_errors
def tag(
    recording_ids: Annotated[
        Optional[list[int]],  # noqa: UP045
        typer.Argument(help="Recordings to tag (default: every transcript not yet tagged)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Tag again even if nothing changed.")] = False,
    cluster: ClusterOption = None,
    workers: WorkersOption = 0,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Find people, places, organisations, dates and topics in the transcripts.

    Re-tagging replaces machine tags only; tags added by people are kept. Adding a place with
    'livingmemory vocab add' makes the next run re-tag.
    """
    from rich.progress import Progress

    from livingmemory.tagging.pipeline import TagBatch, tag_transcripts

    class Reporter:
        """The bar starts with the work, so an error before it prints one line, no bar."""

        def __init__(self) -> None:
            self.bar = Progress(console=err_console, disable=as_json)
            self.task: TaskID | None = None

        def begin(self, total: int) -> None:
            self.bar.start()
            self.task = self.bar.add_task("tagging transcripts", total=total)

        def advance(self, transcript: dict[str, Any], entities: int) -> None:
            assert self.task is not None  # begin() comes first
            self.bar.advance(self.task)
            if not as_json:
                self.bar.console.print(
                    f"tagged #{transcript['recording_id']}: {entities} tags", highlight=False
                )

    if cluster:
        from livingmemory.transcription.distributed import check_address

        check_address(cluster)
    reporter = Reporter()
    try:
        with open_archive(archive_path) as archive:
            if cluster:
                from livingmemory.tagging.cluster import tag_on_cluster

                clustered = tag_on_cluster(
                    archive, recording_ids, force=force, progress=reporter, cluster=cluster,
                    workers=workers,
                )  # fmt: skip
                failed: list[tuple[int, str]] = clustered.failed
                batch: TagBatch = clustered
            else:
                failed = []
                batch = tag_transcripts(archive, recording_ids, force=force, progress=reporter)
    finally:
        if reporter.task is not None:
            reporter.bar.stop()
    for recording_id, message in failed:
        err_console.print(f"#{recording_id} not tagged: {message}", highlight=False)
    if as_json:
        rows: list[dict[str, Any]] = [{"recording_id": r, "entities": n} for r, n in batch.tagged]
        rows += [{"recording_id": r, "error": message} for r, message in failed]
        print(json.dumps(rows, ensure_ascii=False))
    elif not batch.tagged and not failed:
        console.print("Nothing to tag: every transcript is tagged by the current pipeline.")
    if failed:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def search(
    query: Annotated[str, typer.Argument(help="Words to find, in any inflected form.")],
    limit: Annotated[int, typer.Option(min=1, help="At most this many hits.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many hits (next page).")] = 0,
    narrator: Annotated[Optional[str], typer.Option(help="Part of a narrator's name.")] = None,  # noqa: UP045
    place: Annotated[Optional[str], typer.Option(help="Where it was recorded.")] = None,  # noqa: UP045
    decade: Annotated[Optional[str], typer.Option(help="Recorded in: 1980s.")] = None,  # noqa: UP045
    story_decade: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="The story is set in this decade (the dates said before it)."),
    ] = None,
    language: Annotated[Optional[str], typer.Option(help="Language: sl, en, de...")] = None,  # noqa: UP045
    recording: Annotated[Optional[int], typer.Option(help="Only this recording id.")] = None,  # noqa: UP045
    speaker: Annotated[Optional[str], typer.Option(help="Only what this speaker says.")] = None,  # noqa: UP045
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Search transcripts, tags, titles, places and names: "Kranj" also finds "v Kranju",
    "zelezarna" finds "Železarna", "Jesenice" the interview titled "Na Jesenicah"."""
    from livingmemory.search import search as run_search

    with open_archive(archive_path) as archive:
        hits = run_search(archive, query, limit=limit, offset=offset, narrator=narrator,
                          place=place, decade=decade, story_decade=story_decade,
                          language=language, recording_id=recording, speaker=speaker)  # fmt: skip
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        console.print(f"No segment mentions {query!r}.")
        raise typer.Exit(1)
    for hit in hits:
        console.print(
            f"#{hit.recording_id} [bold]{escape(hit.title)}[/bold] [{hit.timecode}] "
            + (
                f"(interview {escape(hit.interview_key or '')} at "
                f"{_timecode(hit.interview_start)}) "
                if hit.offset
                else ""
            )
            + ("" if hit.matched in ("text", "lemma") else f"({hit.matched}) ")
            + escape(hit.snippet),
            highlight=False,
        )


def _seconds(value: str) -> float:
    """Seconds from "75", "75.5", "1:15" or "00:01:15"."""
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        raise LivingMemoryError(
            f"{quoted(value)} is not a time (use seconds or HH:MM:SS)"
        ) from None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


@app.command()
@friendly_errors
def publish(
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
    full: Annotated[
        bool, typer.Option("--full", help="Rewrite everything, not only what changed.")
    ] = False,
    preview: Annotated[
        bool, typer.Option("--preview", help="Only say what would change; write nothing.")
    ] = False,
) -> None:
    """Build the public database (public/public.db) and its audio for the public site.

    Only public recordings, and embargoed ones whose date has passed, go in; restricted and
    embargoed interviews, consent and internal notes are left out of the file entirely.
    Redacted passages are cut from text, search and audio. Run it again after any change:
    only recordings that changed since the last publish are rewritten, in place (a running
    site shows them on its next request). A recording whose file no longer matches its
    checksum is withheld, with one line, and the exit status is 1.
    """
    from livingmemory.review.revisions import recordings_needing_attention
    from livingmemory.site.live import preview as run_preview
    from livingmemory.site.live import recorded_publish

    if preview:
        with open_archive(archive_path) as archive:
            plan = run_preview(archive)
        if as_json:
            print(json.dumps(plan.as_dict(), ensure_ascii=False))
            return
        for label, rows in (("new", plan.new), ("withdrawn", plan.withdrawn),
                            ("changed", plan.changed)):  # fmt: skip
            for row in rows:
                console.print(f"{label:9} #{row['id']} {readable(row['title'])}", highlight=False)
        if not plan.pending:
            console.print("nothing to publish: the public site shows the archive as it is")
        return
    with open_archive(archive_path) as archive:
        result = recorded_publish(archive, full=full)
        published = set(result.recordings)
        attention = recordings_needing_attention(archive)
        unchecked = [r for r in attention if r["recording_id"] in published]
    for line in result.damaged.values():
        err_console.print(f"[red]Error:[/red] {line}", highlight=False)
    if as_json:
        print(json.dumps({**result.__dict__, "database": str(result.database)}))
        if result.damaged:
            raise typer.Exit(1)
        return
    console.print(
        f"published {len(result.recordings)} recording(s), {result.segments} segments "
        f"to {result.database} ({result.withheld} withheld, {result.redacted_segments} "
        f"segment(s) redacted"
        + (f"; {len(result.rewritten)} changed, rewritten)" if result.incremental else ")"),
        highlight=False,
    )
    for row in unchecked:  # published, as asked; but a volunteer should look first
        err_console.print(
            f"[yellow]Warning:[/yellow] #{row['recording_id']} is public but needs a check: "
            f"{row['reason']} (livingmemory review --queue)",
            highlight=False,
        )
    if result.damaged:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def redact(
    recording_id: Annotated[int, typer.Argument(help="The recording's number.")],
    start: Annotated[str, typer.Option(help="Start of the passage (seconds or HH:MM:SS).")],
    end: Annotated[str, typer.Option(help="End of the passage (seconds or HH:MM:SS).")],
    reason: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Why (kept in the archive, never published)."),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Remove a passage the narrator asked to withhold from everything published
    (text, search and audio); the archive keeps it. Takes effect at the next 'publish'."""
    from livingmemory.site.publish import redact as run_redact

    with open_archive(archive_path) as archive:
        run_redact(archive, recording_id, _seconds(start), _seconds(end), reason)
    console.print(
        f"recording #{recording_id}: {start}-{end} will be cut at the next publish",
        highlight=False,
    )


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8001,
    private: Annotated[
        bool,
        typer.Option(
            help="Serve the FULL archive, restricted interviews included, behind "
            "the password in LIVINGMEMORY_PASSWORD (for the archive team)."
        ),
    ] = False,
    worker: Annotated[
        bool, typer.Option(help="With --private: transcribe uploads in a background worker.")
    ] = True,
    trusted_proxy: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            help="The address of a reverse proxy in front of the site (repeatable): only its "
            "X-Forwarded-For header names the client. Default: no proxy is trusted."
        ),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Run Datasette on the public database (made by 'publish'), read-only. With --private:
    the full archive and the volunteers' workspace at /-/workspace, behind a login."""
    from livingmemory.site.serve import serve as run_serve

    with open_archive(archive_path) as archive:
        status = run_serve(
            archive,
            host=host,
            port=port,
            private=private,
            announce=lambda url: console.print(f"Serving on {url} (Ctrl-C to stop)"),
            start_worker=worker,
            trusted_proxies=trusted_proxy or (),
        )
    raise typer.Exit(status)


# Long: its typer options and four modes (queue, status, apply, export), each one library call and
# its printout.
@app.command()
@friendly_errors
def review(
    recording_id: Annotated[
        Optional[int],  # noqa: UP045
        typer.Argument(help="The recording to review (see 'list')."),
    ] = None,
    apply: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--apply", help="Import an edited review file back (WebVTT, SRT, text)."),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Where to write the review file (default: recording-ID.vtt)."),
    ] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="List the segments most in need of a human.")
    ] = False,
    status: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Set the review status: pending, in_progress, ready_for_qc, complete."),
    ] = None,
    author: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Who made the corrections (default: your login)."),
    ] = None,
    note: Annotated[Optional[str], typer.Option(help="A note kept with the revisions.")] = None,  # noqa: UP045
    limit: Annotated[int, typer.Option(help="Queue length.")] = 20,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Correct transcripts safely: export one for editing (WebVTT, speakers as <v Name>),
    apply the edited file back (every change becomes a revision; machine text is kept), see
    the review queue, or set a recording's review status."""
    from livingmemory.review import revisions as rv

    with open_archive(archive_path) as archive:
        if queue:
            rows = rv.review_queue(archive, limit)
            attention = rv.recordings_needing_attention(archive)
            if as_json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
                return
            for row in attention:
                console.print(
                    f"[yellow]#{row['recording_id']}[/yellow] {escape(row['title'] or '')}: "
                    f"{row['reason']}",
                    highlight=False,
                )
            for row in rows:
                console.print(
                    f"#{row['recording_id']} {_timecode(row['start'])} score {row['score']} "
                    f"({', '.join(row['reasons'])}): {escape(row['text'])}",
                    highlight=False,
                )
            if not rows and not attention:
                console.print("Nothing in the queue: no suspect segments left to review.")
            return
        if recording_id is None:
            raise LivingMemoryError("name a recording, or use --queue")
        if status:
            rv.set_status(archive, recording_id, status)
            console.print(f"recording #{recording_id}: {status}", highlight=False)
        if apply:
            result = rv.attach_transcript(
                archive, recording_id, apply, author=author or current_user(), note=note
            )
            if result.already_applied:
                console.print(f"recording #{recording_id}: {apply} is already applied; "
                              "nothing changed", highlight=False)  # fmt: skip
                return
            console.print(
                f"recording #{recording_id}: {result.cues} cues stored as a human transcript, "
                f"{result.changed} changed, {result.deleted} removed (machine text kept)",
                highlight=False,
            )
        elif not status:
            path = rv.export_review(
                archive, recording_id, output or Path(f"recording-{recording_id}.vtt")
            )
            console.print(f"wrote {path}: edit it, then 'livingmemory review {recording_id} "
                          f"--apply {path}'", highlight=False)  # fmt: skip


@app.command("import-transcript")
@friendly_errors
def import_transcript(
    recording_id: Annotated[int, typer.Argument(help="The recording it transcribes.")],
    file: Annotated[Path, typer.Argument(help="WebVTT, SRT, Transcriber .trs, JSON or text.")],
    fmt: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--format",
            help=f"{_names(_PLUGINS.formats, lambda f: f.loads)} (default: by extension).",
        ),
    ] = None,
    author: Annotated[Optional[str], typer.Option(help="Who transcribed it.")] = None,  # noqa: UP045
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Attach an existing human transcript to a recording; it becomes the current transcript,
    searchable and taggable like machine ones."""
    from livingmemory.review.revisions import attach_transcript

    with open_archive(archive_path) as archive:
        result = attach_transcript(archive, recording_id, file, author=author, fmt=fmt)
    console.print(f"recording #{recording_id}: {result.cues} cues imported from {file}",
                  highlight=False)  # fmt: skip


@app.command()
@friendly_errors
def export(
    recording_id: Annotated[
        Optional[int],  # noqa: UP045
        typer.Argument(help="The recording to export (or --all)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"One of: {_names(_PLUGINS.formats, lambda f: f.export or f.dumps)} "
            "(ohms: OHMS XML).",
        ),
    ] = "vtt",
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="File (or folder with --all); default: print."),
    ] = None,
    all_public: Annotated[
        bool, typer.Option("--all", help="Every public recording, one file each, into --output.")
    ] = False,
    catalogue: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Write the public catalogue as Dublin Core CSV to this file."),
    ] = None,
    interview_time: Annotated[
        bool, typer.Option(help="Times continue across the parts of a multi-part interview.")
    ] = False,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Export transcripts for subtitle editors, OHMS viewers, Aviary, Omeka and catalogues."""
    from livingmemory.formats import exports

    with open_archive(archive_path) as archive:
        if catalogue:
            write_text(catalogue, exports.catalogue(archive))
            console.print(f"wrote {catalogue}", highlight=False)
        if all_public:
            if output is None:
                raise LivingMemoryError("--all needs --output FOLDER")
            written = exports.export_all(archive, fmt, output)
            console.print(f"wrote {len(written)} file(s) to {output}", highlight=False)
        elif recording_id is not None:
            text = exports.export_recording(archive, recording_id, fmt,
                                            interview_time=interview_time)  # fmt: skip
            if output:
                write_text(output, text)
                console.print(f"wrote {output}", highlight=False)
            else:
                sys.stdout.write(text)
        elif not catalogue:
            raise LivingMemoryError("name a recording, or use --all or --catalogue")


vocab_app = typer.Typer(help="The archive's own places, organisations and people for tagging.")
app.add_typer(vocab_app, name="vocab")


@vocab_app.command("add")
@friendly_errors
def vocab_add(
    name: Annotated[str, typer.Argument(help="Canonical name, e.g. 'Planina Konjščica'.")],
    kind: Annotated[str, typer.Option(help="place, organisation or person.")] = "place",
    type_: Annotated[str, typer.Option("--type", help="e.g. village, pasture, factory.")] = "",
    lat: Annotated[Optional[float], typer.Option(help="Latitude (WGS84).")] = None,  # noqa: UP045
    lon: Annotated[Optional[float], typer.Option(help="Longitude (WGS84).")] = None,  # noqa: UP045
    alias: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="Other names for it (repeat)."),
    ] = None,
    ambiguous: Annotated[
        bool, typer.Option(help="Also an ordinary word: match only when capitalised.")
    ] = False,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Teach the tagger a name (the next 'tag' run re-tags every transcript)."""
    from livingmemory.tagging.vocabulary import add_entry

    with open_archive(archive_path) as archive:
        add_entry(archive, name, kind, type_, lat, lon, alias or [], ambiguous)
    console.print(f"added {kind} {name!r} to the vocabulary", highlight=False)


@vocab_app.command("list")
@friendly_errors
def vocab_list(archive_path: ArchiveOption = DEFAULT_ARCHIVE, as_json: JsonOption = False) -> None:
    """The archive's own vocabulary (the shipped gazetteer is in livingmemory/data)."""
    with open_archive(archive_path) as archive:
        rows = list(archive.db["vocabulary"].rows)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        console.print(f"{row['kind']:<13} {row['name']}  {row['aliases'] or ''}", highlight=False)


# -- the interview index (kazalo) ------------------------------------------------------------


class _IndexGroup(typer.core.TyperGroup):
    """``index ID COMMAND``: the recording comes first, as a volunteer says it; ``index add
    --help`` (no ID) still shows that command's help."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in self.commands and "--help" in args:
            args = ["0", *args]
        return super().parse_args(ctx, args)


index_app = typer.Typer(
    cls=_IndexGroup,
    help="Kazalo intervjuja: točke s časom, naslovom, povzetkom, ključnimi besedami (the "
    "interview index: 'index ID add --at 75 --title ...', list, edit, remove, accept, suggest).",
    no_args_is_help=True,
)
app.add_typer(index_app, name="index")
Opt = Optional
TextOption = Annotated[Optional[str], typer.Option()]  # noqa: UP045
ListOption = Annotated[Optional[str], typer.Option(help="Comma-separated, e.g. 'železarna,vojna'.")]  # noqa: UP045
LinkOption = Annotated[
    Optional[list[str]], typer.Option("--link", help="'URL' or 'URL label' (repeat).")  # noqa: UP045
]
PointArgument = Annotated[int, typer.Argument(help="The point's number (see 'index ID list').")]
CoordinateOption = Annotated[Optional[float], typer.Option()]  # noqa: UP045
NoteOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="Why (kept in the history)."),
]


@index_app.callback()
def index_main(
    ctx: typer.Context,
    recording_id: Annotated[
        int, typer.Argument(metavar="ID", help="The recording's number (see 'list').")
    ],
) -> None:
    """Kazalo intervjuja (the interview index): points written by people, OHMS-style."""
    ctx.obj = {"recording_id": recording_id}


def _options(ctx: typer.Context, archive_path: Path, as_json: bool) -> None:
    """The subcommand's --archive and --json (options come after the subcommand's name)."""
    ctx.obj.update(archive=archive_path, json=as_json)


def _print_points(ctx: typer.Context, points: list[dict[str, Any]], verb: str) -> None:
    if ctx.obj["json"]:
        print(json.dumps(points, ensure_ascii=False, indent=2))
        return
    for point in points:
        state = "" if point["status"] == "accepted" else " [osnutek/draft]"
        console.print(
            f"{verb}#{point['id']} {hms(point['at'])} {escape(point['title'])}{state}"
            + (f" · {escape(', '.join(point['keywords']))}" if point["keywords"] else ""),
            highlight=False,
        )


def _fields(**values: Any) -> dict[str, Any]:
    """Only the options given (None means 'not given'); '' clears a field."""
    fields = {k: v for k, v in values.items() if v is not None}
    if "at" in fields:
        fields["at"] = _seconds(fields["at"])
    return fields


@index_app.command("add")
@friendly_errors
def index_add(
    ctx: typer.Context,
    at: Annotated[str, typer.Option(help="Where: seconds or H:MM:SS.")],
    title: Annotated[str, typer.Option(help="Naslov točke (the point's title).")],
    synopsis: TextOption = None,
    partial_transcript: TextOption = None,
    keywords: ListOption = None,
    subjects: ListOption = None,
    place: Annotated[
        Optional[str], typer.Option(help="A place (coordinates from the gazetteer).")  # noqa: UP045
    ] = None,
    lat: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(help="Latitude, if the gazetteer lacks it."),
    ] = None,
    lon: Annotated[Optional[float], typer.Option(help="Longitude.")] = None,  # noqa: UP045
    link: LinkOption = None,
    draft: Annotated[bool, typer.Option(help="Keep it a draft (not published).")] = False,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Dodaj točko kazala (add an index point)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import add_point

    with open_archive(ctx.obj["archive"]) as archive:
        point = add_point(
            archive, ctx.obj["recording_id"], at=_seconds(at), title=title, synopsis=synopsis,
            partial_transcript=partial_transcript, keywords=keywords, subjects=subjects,
            place=place, lat=lat, lon=lon, links=link, draft=draft, author=current_user(),
        )  # fmt: skip
    _print_points(ctx, [point], "dodana točka (added) ")


@index_app.command("list")
@friendly_errors
def index_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="draft or accepted.")] = None,  # noqa: UP045
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Točke kazala po času (the index points in time order)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import list_points

    with open_archive(ctx.obj["archive"]) as archive:
        points = list_points(archive, ctx.obj["recording_id"], status=status)
    _print_points(ctx, points, "")
    if not points and not ctx.obj["json"]:
        console.print(f"#{ctx.obj['recording_id']}: kazalo je prazno (no index points)")


@index_app.command("edit")
@friendly_errors
def index_edit(
    ctx: typer.Context,
    point_id: PointArgument,
    at: TextOption = None,
    title: TextOption = None,
    synopsis: TextOption = None,
    partial_transcript: TextOption = None,
    keywords: ListOption = None,
    subjects: ListOption = None,
    place: TextOption = None,
    lat: CoordinateOption = None,
    lon: CoordinateOption = None,
    link: LinkOption = None,
    note: NoteOption = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Popravi točko kazala (change an index point; the history keeps the old one)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import edit_point, get_point

    fields = _fields(at=at, title=title, synopsis=synopsis, partial_transcript=partial_transcript,
                     keywords=keywords, subjects=subjects, place=place, lat=lat, lon=lon,
                     links=link)  # fmt: skip
    with open_archive(ctx.obj["archive"]) as archive:
        _same_recording(get_point(archive, point_id), ctx)
        point = edit_point(archive, point_id, fields, author=current_user(), note=note)
    _print_points(ctx, [point], "popravljena (edited) ")


def _same_recording(point: dict[str, Any], ctx: typer.Context) -> None:
    if point["recording_id"] != ctx.obj["recording_id"]:
        raise LivingMemoryError(
            f"točka #{point['id']} je v posnetku #{point['recording_id']}, ne "
            f"#{ctx.obj['recording_id']} (point #{point['id']} belongs to another recording)"
        )


@index_app.command("remove")
@friendly_errors
def index_remove(
    ctx: typer.Context,
    point_id: PointArgument,
    note: NoteOption = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Odstrani točko (remove an index point; its history stays)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import get_point, remove_point

    with open_archive(ctx.obj["archive"]) as archive:
        _same_recording(get_point(archive, point_id), ctx)
        point = remove_point(archive, point_id, author=current_user(), note=note)
    _print_points(ctx, [point], "odstranjena (removed) ")


@index_app.command("accept")
@friendly_errors
def index_accept(
    ctx: typer.Context,
    point_id: PointArgument,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Potrdi osnutek (accept a draft: from now on it is published)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import accept_point, get_point

    with open_archive(ctx.obj["archive"]) as archive:
        _same_recording(get_point(archive, point_id), ctx)
        point = accept_point(archive, point_id, author=current_user())
    _print_points(ctx, [point], "potrjena (accepted) ")


@index_app.command("suggest")
@friendly_errors
def index_suggest(
    ctx: typer.Context,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Predlogi stroja kot osnutki (machine suggestions as drafts: topic shifts, many names)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import suggest_points

    with open_archive(ctx.obj["archive"]) as archive:
        points = suggest_points(archive, ctx.obj["recording_id"], author=current_user())
    _print_points(ctx, points, "predlog (suggested) ")
    if not points and not ctx.obj["json"]:
        console.print("ni novih predlogov (no new suggestions)")


@index_app.command("history")
@friendly_errors
def index_history(
    ctx: typer.Context,
    point_id: PointArgument,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Zgodovina točke (who changed a point, when, from what to what)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import point_history

    with open_archive(ctx.obj["archive"]) as archive:
        rows = point_history(archive, point_id)
    if ctx.obj["json"]:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        title = (row["new"] or row["old"] or {}).get("title")
        console.print(
            f"{row['created_at']} {row['author'] or '?'} {row['action']}: {escape(repr(title))}",
            highlight=False,
        )


@index_app.command("import")
@friendly_errors
def index_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="An OHMS XML record.")],
    replace_points: Annotated[
        bool, typer.Option("--replace", help="Remove the current points first.")
    ] = False,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Uvozi kazalo iz zapisa OHMS XML (import the index of an OHMS record)."""
    _options(ctx, archive_path, as_json)
    from livingmemory.review.index_points import import_ohms

    with open_archive(ctx.obj["archive"]) as archive:
        points = import_ohms(archive, ctx.obj["recording_id"], path, author=current_user(),
                             replace=replace_points)  # fmt: skip
    _print_points(ctx, points, "uvožena (imported) ")


trail_app = typer.Typer(help="Heritage trails: stops with interview moments, for walkers.")
app.add_typer(trail_app, name="trail")


@trail_app.command("import")
@friendly_errors
def trail_import(
    path: Annotated[Path, typer.Argument(help="A YAML file of trails (see the README).")],
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Add or replace trails from a YAML file: all of them are checked before any is written."""
    from livingmemory.site.trails import import_trails

    with open_archive(archive_path) as archive:
        trails = import_trails(archive, path)
    for trail in trails:
        console.print(f"{trail.slug}: {trail.title} ({len(trail.stops)} stops)", highlight=False)


@trail_app.command("list")
@friendly_errors
def trail_list(archive_path: ArchiveOption = DEFAULT_ARCHIVE, as_json: JsonOption = False) -> None:
    """The archive's trails (published with the next 'publish', public moments only)."""
    from livingmemory.site.trails import list_trails

    with open_archive(archive_path) as archive:
        rows = list_trails(archive)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        console.print(
            f"{row['slug']:<30} {row['stops']:>3} stops {row['moments']:>3} moments  "
            f"{row['title']}",
            highlight=False,
        )


@trail_app.command("remove")
@friendly_errors
def trail_remove(
    slug: Annotated[str, typer.Argument(help="The trail's slug (see 'trail list').")],
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Remove a trail (it leaves the public site with the next 'publish')."""
    from livingmemory.site.trails import remove_trail

    with open_archive(archive_path) as archive:
        remove_trail(archive, slug)
    console.print(f"removed trail {slug!r}", highlight=False)


models_app = typer.Typer(
    help="Whisper models: what is installed (offline), import, convert.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(models_app, name="models")


@models_app.callback()
@friendly_errors
def models_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the Whisper models available on this machine, where they are and who can use them."""
    if ctx.invoked_subcommand:
        return
    from livingmemory.transcription import models as models_module

    entries = models_module.available_models()
    if as_json:
        print(json.dumps([
            {**e.__dict__, "path": str(e.path) if e.path else None, "usable": e.usable,
             "languages": e.languages} for e in entries
        ], ensure_ascii=False, indent=2))  # fmt: skip
        return
    table = Table(title=f"Whisper models (user folder: {models_module.models_dir()})")
    for column in ("Name", "Languages", "Size", "Engines", "Source", "Status"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.name,
            e.languages,
            f"{e.size_bytes / 1e6:.0f} MB" if e.size_bytes else "",
            "faster-whisper, openai-whisper (converted)" if e.usable else "",
            e.source,
            "ok" if e.usable else f"[red]unusable[/red]: {e.problem}",
        )
    console.print(table)
    console.print(
        "Other sizes (small, medium, large-v3, turbo) download on first use when a network "
        "exists, or copy one from another machine with 'livingmemory models import DIR'."
    )


@models_app.command("import")
@friendly_errors
def models_import(
    directory: Annotated[Path, typer.Argument(help="A CTranslate2 Whisper model folder.")],
    name: Annotated[Optional[str], typer.Option(help="Name to use (default: folder name).")] = None,  # noqa: UP045
) -> None:
    """Copy a model folder (e.g. downloaded on another machine) into your model directory."""
    from livingmemory.transcription.models import import_model

    entry = import_model(directory, name)
    console.print(f"imported {entry.name} ({entry.languages}) into {entry.path}", highlight=False)


@models_app.command("convert")
@friendly_errors
def models_convert(
    model: Annotated[str, typer.Argument(help="Model name or folder.")] = "base",
) -> None:
    """Convert a model for openai-whisper once (done automatically on first use)."""
    from livingmemory.transcription.models import openai_checkpoint, resolve

    entry = resolve(model, allow_download=False)
    checkpoint = openai_checkpoint(entry)
    console.print(f"openai-whisper checkpoint for {entry.name}: {checkpoint}", highlight=False)


@app.command()
@friendly_errors
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to build the demo archive.")
    ] = Path("demo"),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the public site when done.")
    ] = True,
    transcribe: Annotated[
        bool, typer.Option(help="Transcribe and tag the examples (offline models).")
    ] = True,
) -> None:
    """Build a demo archive from the example interviews shipped with the package:
    add them with their metadata, transcribe them and tag them."""
    from livingmemory.demo import run_demo

    summary = run_demo(
        directory,
        on_progress=lambda line: console.print(line, highlight=False),
        transcribe=transcribe,
    )
    console.print(summary, highlight=False)
    if serve:
        from livingmemory.site.serve import serve as run_serve

        with open_archive(directory / "archive.db") as archive:
            announce = lambda url: console.print(f"Serving on {url} (Ctrl-C to stop)")  # noqa: E731
            raise typer.Exit(run_serve(archive, announce=announce))


@app.command()
@friendly_errors
def entities(
    source: Annotated[
        str, typer.Argument(help="A text file, or JSON lines with a 'text' field; - reads stdin.")
    ] = "-",
    language: Annotated[
        str,
        typer.Option(
            help=f"Language of the text: {_names(_PLUGINS.languages)}; others get the generic "
            "pipeline."
        ),
    ] = "sl",
    topics: Annotated[bool, typer.Option(help="Also list topics (both languages' names).")] = True,
    as_json: JsonOption = False,
) -> None:
    """Tag any text outside an archive: people, places, organisations, dates and topics.

    One result per input line, with character offsets, labels, canonical names and
    confidence; with --json one JSON object per line (JSON lines keep their own fields).
    """
    from livingmemory.ingest.languages import normalize_language
    from livingmemory.tagging.pipeline import read_text_lines, tag_lines

    if language not in _PLUGINS.languages:  # "klingon" is one clear line, as in 'add'
        language = normalize_language(language)
    lines = read_text_lines(source)
    for result in tag_lines(lines, language, source=source, topics=topics):
        if as_json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
            continue
        where = result.get("line", result.get("id", ""))
        for e in result["entities"]:
            console.print(
                f"{where}\t{e['start']}-{e['end']}\t{e['label']}\t{escape(e['text'])}\t"
                f"{escape(str(e['canonical']))}\t{e['confidence']:.2f}",
                highlight=False,
            )


@app.command()
@friendly_errors
def edit(
    recording_id: Annotated[int, typer.Argument(help="The recording's number (see 'list').")],
    title: Annotated[Optional[str], typer.Option(help="Title / naslov.")] = None,  # noqa: UP045
    narrator: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help='Narrator(s) / pripovedovalec: "A; B" for several.'),
    ] = None,
    interviewer: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help='Interviewer(s) / spraševalec: "A; B" for several.'),
    ] = None,
    date: Annotated[Optional[str], typer.Option(help="1987, 1987-05, 1987-05-12.")] = None,  # noqa: UP045
    place: Annotated[Optional[str], typer.Option(help="Where it was recorded.")] = None,  # noqa: UP045
    language: Annotated[Optional[str], typer.Option(help="sl, en, de...")] = None,  # noqa: UP045
    access: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="public/javno (needs a consent note), restricted/omejeno, "
            "embargoed/embargo (needs --embargo-until)."
        ),
    ] = None,
    embargo_until: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD.")] = None,  # noqa: UP045
    consent: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Consent note / soglasje (private, never published)."),
    ] = None,
    notes: Annotated[Optional[str], typer.Option(help="Internal notes (private).")] = None,  # noqa: UP045
    author: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Who makes the change (default: your login)."),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Change a recording's metadata or access; every change is recorded (who, when, old and
    new value). Withdrawn consent: '--access restricted' removes it from the public site at
    once (and an embargo lifted shows it), without waiting for 'publish'."""
    from livingmemory.site.live import edit_and_publish

    changes = {
        "title": title,
        "narrators": narrator,
        "interviewers": interviewer,
        "recorded_date": date,
        "place": place,
        "language": language,
        "access": access,
        "embargo_until": embargo_until,
        "consent_notes": consent,
        "notes": notes,
    }
    with open_archive(archive_path) as archive:
        done, published = edit_and_publish(
            archive, recording_id, changes, author=author or current_user()
        )
    for change in done:
        console.print(f"#{recording_id} {change.field}: {change.old!r} -> {change.new!r}",
                      highlight=False)  # fmt: skip
    if not done:
        console.print(f"#{recording_id}: nothing changed", highlight=False)
    elif published is not None and recording_id not in published.recordings:
        console.print(f"#{recording_id} was removed from the public site", highlight=False)
    elif published is not None:
        console.print(f"#{recording_id} is on the public site now", highlight=False)
    elif any(c.field == "access" for c in done):
        console.print("run 'livingmemory publish' to update the public site", highlight=False)


@app.command()
@friendly_errors
def worker(
    once: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
    model: Annotated[str, typer.Option(help="Whisper model for queued recordings.")] = "base",
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Work the workspace's queue: transcribe and tag uploaded recordings (Ctrl-C stops)."""
    from livingmemory.review.workspace import work_queue
    from livingmemory.transcription.pipeline import TranscribeSettings

    def report(job: dict[str, Any], status: str) -> None:
        console.print(f"{status} #{job['recording_id']}: {job['message'] or ''}", highlight=False)

    console.print(f"worker for {archive_path} (model {model}; Ctrl-C stops)", highlight=False)
    with open_archive(archive_path) as archive:
        try:
            work_queue(archive, once=once, settings=TranscribeSettings(model=model),
                       on_job=report)  # fmt: skip
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


@app.command()
@friendly_errors
def user(
    name: Annotated[str, typer.Argument(help="The volunteer's name, as they log in.")],
    password: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Their password (asked for, twice, in a terminal when not given)."),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
) -> None:
    """Give a volunteer their own workspace account (users.yml beside the archive)."""
    from livingmemory.review.workspace import set_password

    if password is None:
        if not sys.stdin.isatty():
            # Without a terminal a prompt can only fail (three lines of it): say what to do.
            raise LivingMemoryError("no terminal to ask for the password: give it with --password")
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_archive(archive_path) as archive:
        path = set_password(archive.root, name, password)
    console.print(f"account {name!r} saved in {path}", highlight=False)


@app.command()
@friendly_errors
def revisions(
    recording_id: Annotated[int, typer.Argument(help="The recording's number (see 'list').")],
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """Who corrected what in a recording's transcript, and its metadata edits, newest first."""
    from livingmemory.review.workspace import history

    with open_archive(archive_path) as archive:
        rows = history(archive, recording_id)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        what = row["what"] + (f" {_timecode(row['start'])}" if row["start"] is not None else "")
        console.print(
            f"{row['created_at']} {row['author'] or '?'} {what}: "
            f"{escape(repr(row['old']))} -> {escape(repr(row['new']))}",
            highlight=False,
        )
    if not rows:
        console.print(f"#{recording_id}: no corrections or edits yet", highlight=False)


@app.command()
@friendly_errors
def verify(archive_path: ArchiveOption = DEFAULT_ARCHIVE, as_json: JsonOption = False) -> None:
    """Check every stored recording against its SHA-256 and the archive file's integrity:
    one line per changed, missing or unreadable file; exit status 1 if anything is wrong."""
    from livingmemory.archive.fixity import verify as run_verify

    with open_archive(archive_path) as archive:
        checked, problems = run_verify(archive)
    if as_json:
        print(json.dumps({"checked": checked, "problems": [str(p) for p in problems]},
                         ensure_ascii=False))  # fmt: skip
    else:
        for problem in problems:
            console.print(escape(str(problem)), highlight=False)
        if not problems:
            console.print(f"{checked} recording(s) and the archive file are intact")
    if problems:
        raise typer.Exit(1)


@app.command("speakers")
@friendly_errors
def speakers_command(
    recording_id: Annotated[int, typer.Argument(help="The recording's number (see 'list').")],
    rename: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="OLD=NEW: call a speaker by another name (e.g. 'Govorec 2=Ana Zupan')."),
    ] = None,
    merge: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="OLD=INTO: two voices that are one person."),
    ] = None,
    confirm: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="SPEAKER: accept the stored voice's suggestion ('morda ...')."),
    ] = None,
    archive_path: ArchiveOption = DEFAULT_ARCHIVE,
    as_json: JsonOption = False,
) -> None:
    """List a recording's speakers (who, how they were recognised, how long they speak, what a
    stored voice suggests); rename, merge or confirm them. Stored voice prints follow."""
    from livingmemory.speakers.turns import correct_speakers, list_speakers, suggestion_text

    with open_archive(archive_path) as archive:
        done = correct_speakers(archive, recording_id, rename or [], merge or [], confirm or [])
        rows = list_speakers(archive, recording_id)
        transcribed = archive.current_transcript(recording_id) is not None
    if not as_json:
        for old, new, count in done:
            console.print(f"{old} → {new}: {count} segment(s)", highlight=False)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        if transcribed:
            console.print(
                f"Recording #{recording_id} was transcribed without telling speakers apart "
                "(one person in its metadata, a stereo file split by channel, or --no-diarize). "
                f"To find them: livingmemory transcribe {recording_id} --force --diarize"
            )
        else:
            console.print(f"Recording #{recording_id} has no transcript yet (transcribe it first).")
        return
    table = Table(title=f"Speakers in #{recording_id}", title_justify="left")
    for column in ("speaker", "person", "recognised by", "similarity", "suggestion", "seconds",
                   "segments"):  # fmt: skip
        table.add_column(column)
    how = {"voice": "stored voice", "introduction": "said own name", "role": "role",
           "manual": "correction", "none": "-"}  # fmt: skip
    for row in rows:
        similarity = row["similarity"]
        table.add_row(
            row["label"],
            row["person"] or "",
            how.get(row["method"] or "", row["method"] or ""),
            "" if similarity is None else f"{similarity:.2f}",
            suggestion_text(row["suggestion"], row["suggestion_similarity"], row["label"])
            if row["suggestion"]
            else "",
            "" if row["seconds"] is None else f"{row['seconds']:.1f}",
            str(row["segments"]),
        )
    console.print(table)


@app.command("plugins")
@friendly_errors
def list_plugins(as_json: JsonOption = False) -> None:
    """List the plug-ins, built-in and installed, and the transcription engines, tagging
    languages and exchange formats each one registers.

    A package adds its own with an entry point in the 'livingmemory' group (see README).
    """
    rows = plugins.get().describe()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    # Three columns, so it reads in an 80-column terminal: built-ins without the package prefix.
    table = Table(title="Plug-ins", title_justify="left")
    table.add_column("plug-in", no_wrap=True)
    table.add_column("registers")
    table.add_column("package")
    for row in rows:
        kinds = (("engines", "engine"), ("languages", "language"), ("formats", "format"))
        registers = "; ".join(f"{word} {', '.join(row[k])}" for k, word in kinds if row[k])
        name = row["name"] if row["package"] else row["name"].removeprefix("livingmemory.")
        table.add_row(name, registers, row["package"] or "built-in")
    console.print(table)
