"""Language codes an interview may be recorded in.

Whisper can transcribe exactly these languages, so a recording tagged with anything else could
never be transcribed; we reject it at ingest, when the volunteer can still fix the typo.
Codes are ISO 639-1 (plus Whisper's ``haw`` and ``yue``). Names are accepted too, in English
and for the archive's main languages in Slovenian and German.
"""

from __future__ import annotations

import difflib

from livingmemory.errors import LivingMemoryError, quoted

# The languages Whisper supports (whisper.tokenizer.LANGUAGES), code -> English name.
LANGUAGES: dict[str, str] = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian",
    "ko": "Korean", "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish",
    "pl": "Polish", "ca": "Catalan", "nl": "Dutch", "ar": "Arabic", "sv": "Swedish",
    "it": "Italian", "id": "Indonesian", "hi": "Hindi", "fi": "Finnish", "vi": "Vietnamese",
    "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay", "cs": "Czech",
    "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian",
    "la": "Latin", "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak",
    "te": "Telugu", "fa": "Persian", "lv": "Latvian", "bn": "Bengali", "sr": "Serbian",
    "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada", "et": "Estonian",
    "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian",
    "sw": "Swahili", "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala",
    "km": "Khmer", "sn": "Shona", "yo": "Yoruba", "so": "Somali", "af": "Afrikaans",
    "oc": "Occitan", "ka": "Georgian", "be": "Belarusian", "tg": "Tajik", "sd": "Sindhi",
    "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao", "uz": "Uzbek",
    "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk",
    "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan",
    "tl": "Tagalog", "mg": "Malagasy", "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian",
    "ln": "Lingala", "ha": "Hausa", "ba": "Bashkir", "jw": "Javanese", "su": "Sundanese",
    "yue": "Cantonese",
}  # fmt: skip

# Names volunteers are likely to type for the archive's languages, in their own words.
_ALIASES: dict[str, str] = {
    "slovenscina": "sl", "slovenščina": "sl", "slovensko": "sl", "slovene": "sl",
    "slowenisch": "sl", "nemscina": "de", "nemščina": "de", "deutsch": "de",
    "anglescina": "en", "angleščina": "en", "englisch": "en", "hrvascina": "hr",
    "hrvaščina": "hr", "kroatisch": "hr", "italijanscina": "it", "italijanščina": "it",
    "madzarscina": "hu", "madžarščina": "hu", "srbscina": "sr", "srbščina": "sr",
}  # fmt: skip
_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()} | _ALIASES


def normalize_language(value: str) -> str:
    """Return the language code for ``value`` ("sl", "sl-SI", "Slovenian", "slovenščina").

    Raises :class:`LivingMemoryError` naming the closest known codes when nothing matches.
    """
    text = value.strip().lower().replace("_", "-")
    if text in LANGUAGES:
        return text
    primary = text.split("-", 1)[0]
    if "-" in text and primary in LANGUAGES:
        return primary
    if text in _BY_NAME:
        return _BY_NAME[text]
    near = difflib.get_close_matches(text, [*LANGUAGES, *_BY_NAME], n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else " (use a code such as sl, en, de)"
    raise LivingMemoryError(f"unknown language {quoted(value)}{hint}")
