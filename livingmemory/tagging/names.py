"""Slovenian names without a trained model: people and organisations from rules on lemmas.

No Slovenian NER model installs offline, so ``lm_sl_names`` runs after the gazetteer, the
date patterns and the generic person and organisation rules, and revises ``doc.ents`` with
rule families each measured on the SSJ gold document ssj619 (``benchmarks/tagging.py``):

* **first name + capitalised words** is a person, also over a one-word gazetteer match:
  "France Prešeren" is the poet, not France -> Francija; chains ("Mohamed Ali Paša"),
  particles ("Majova no Okimi") and regnal numbers ("Cosima I. Medičejskega");
* **roles and titles** (gospod, župnik, učitelj, kralj, princ, dr. ...) before capitalised
  words: "gospod Kopitar" -> PER Kopitar;
* **known surnames** (``data/surnames.txt``) and **known first names** alone, in any case
  form; those that are also ordinary words ("Kos", "Vera") only inside a sentence;
* **the document's own people**: a surname once seen after a first name is a person when
  it comes back alone ("Prešeren je ..."), in any case form, with the full canonical name;
* **names of peoples** (``data/demonyms.txt``: Nemci, Grki, Gorenjci) are PER, as Slovenian
  NER gold data marks them;
* **organisations**: heads (Vlada, Ministrstvo, Zavod, Društvo, Občina, Univerza...) with a
  capitalised genitive ("Vlada Republike Slovenije", over the LOC inside it), a "za"
  phrase ("Ministrstvo za kmetijstvo, gozdarstvo in prehrano"), a seat ("Univerza v
  Mariboru") or, for a head capitalised inside a sentence, a genitive plural ("Zveze
  borcev"); capitalised adjective + head ("Državni zbor", "Kokrški odred"); a kind before
  a name ("podjetje Petrol"; "Podjetje Akrapovič ..." names Akrapovič); a definition
  ("Wham! je bil angleški glasbeni duet"); acronyms in capitals not known as places ("NSF",
  "SDS-a") unless they name a type ("zasloni IPS"), a term ("angl. MEMS") or a headline;
  and a name starts with a capital ("državni zbor" written small is no ORG).

Matching inflected names uses stems: a name list entry matches a word when the word minus a
Slovenian case ending equals the entry (or the entry without its fleeting vowel:
Prešeren -> Prešerna, Prešernom).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from livingmemory.tagging import components
from livingmemory.tagging.components import first_names

# Case endings of nouns and names, longest first (stems must keep 3 letters).
ENDINGS = ("jem", "jev", "ijo", "ema", "ama", "ami", "om", "em", "ov", "ev", "ih", "im",
           "ah", "ju", "ja", "ji", "jo", "je", "a", "u", "e", "i", "o")  # fmt: skip
# Words that introduce a person's name: the name is the capitalised words after them.
ROLES = {
    "gospod", "gospa", "gospodična", "g", "ga", "dr", "prof", "doktor", "profesor",
    "profesorica", "župnik", "kaplan", "duhovnik", "fajmošter", "učitelj", "učiteljica",
    "ravnatelj", "ravnateljica", "zdravnik", "zdravnica", "kralj", "kraljica", "princ",
    "princesa", "vojvoda", "vojvodinja", "nadvojvoda", "knez", "kneginja", "cesar",
    "cesarica", "car", "carica", "papež", "škof", "nadškof", "kardinal", "patriarh", "kalif",
    "sultan", "faraon", "emir", "grof", "grofica", "baron", "vitez", "predsednik",
    "predsednica", "minister", "ministrica", "kancler", "župan", "županja", "general",
    "kapetan", "stotnik", "major", "polkovnik", "komandant", "poveljnik", "tovariš",
    "tovarišica", "pesnik", "pesnica", "pisatelj", "pisateljica", "slikar", "slikarka",
    "skladatelj", "kipar", "arhitekt", "igralec", "igralka", "pevec", "pevka", "stric",
    "teta", "sin", "hči", "brat", "sestra", "oče", "mama", "mati", "ded", "dedek", "babica",
    "soprog", "soproga", "mož", "žena", "sosed", "soseda", "inženir", "direktor",
    "direktorica", "mojster", "vodja", "filozof", "matematik", "fizik", "kemik",
    "znanstvenik", "astronom", "zgodovinar", "politik", "diplomat", "ustanovitelj",
    "naslednik", "sveti", "sv", "svetnik", "prerok", "apostol", "bog", "boginja", "junak",
    "junakinja", "nečak", "nečakinja", "bratranec", "sestrična", "vnuk", "vnukinja", "hčerka",
    "kmet", "gospodar", "gospodinja", "trener", "kolega", "prijatelj",
    "prijateljica", "mister", "mr", "mrs", "herr", "frau", "señor", "monsieur",
}  # fmt: skip
# Particles inside foreign names ("Leonardo da Vinci", "Majova no Okimi").
PARTICLES = {"von", "van", "der", "de", "da", "di", "del", "della", "du", "la", "le", "no",
             "al", "el", "bin", "ibn", "ben", "y", "dos", "das"}  # fmt: skip
ROMAN = re.compile(r"^(?:[IVX]{1,4})\.?$")
# Heads of organisation names (lemmas).
ORG_HEADS = {
    "vlada", "ministrstvo", "zavod", "društvo", "občina", "univerza", "fakulteta",
    "inštitut", "institut", "agencija", "urad", "svet", "skupščina", "komisija", "stranka",
    "zveza", "združenje", "akademija", "galerija", "knjižnica", "gledališče", "center",
    "sklad", "družba", "zavarovalnica", "uprava", "sodišče", "zbornica", "založba", "radio",
    "televizija", "orkester", "filharmonija", "zbor", "partija", "fronta", "armada",
    "vojska", "policija", "liga", "unija", "organizacija", "federacija", "kongres",
    "parlament", "senat", "odbor", "banka", "tovarna", "zadruga", "šola", "gimnazija",
    "klub", "sindikat", "bolnišnica", "muzej", "podjetje", "železarna", "cerkev",
    "komite", "služba", "direkcija", "delegacija", "konzulat", "veleposlaništvo",
    # works and shops of Gorenjska's life stories: "Gorenjska predilnica", "Tiskarna Kranj"
    "predilnica", "tkalnica", "tiskarna", "pivovarna", "mlekarna", "elektrarna", "opekarna",
    "cementarna", "steklarna", "livarna", "usnjarna", "gumarna", "pošta", "lekarna",
    "holding", "koncern", "korporacija",
    # foundations and communities: "Nacionalna znanstvena fundacija", "Krajevna skupnost"
    "fundacija", "ustanova", "skupnost", "gibanje", "koalicija", "zavezništvo",
    # armies and the partisan units of the war years: "Prešernova brigada", "Kokrški odred"
    "brigada", "divizija", "bataljon", "odred", "korpus", "polk", "mornarica", "letalstvo",
    "štab", "poveljstvo", "enota",
    # choirs and bands: "Oktet Lipa", "Ansambel bratov Avsenik"
    "oktet", "kvartet", "kvintet", "ansambel",
}  # fmt: skip
# Lower-case kinds of organisation before a name ("podjetje Petrol", "časnik Delo").
ORG_KINDS = {"podjetje", "družba", "časnik", "časopis", "revija", "stranka", "banka", "klub",
             "zavarovalnica", "tovarna", "trgovina", "agencija", "založba", "tednik",
             "dnevnik", "televizija", "ansambel", "skupina", "orkester", "firma", "koncern",
             "korporacija", "organizacija", "združenje", "društvo", "sindikat", "holding",
             "zavod", "bend", "glasbena", "moštvo", "ekipa", "zadruga", "pivovarna",
             "vinarna", "mlekarna", "letalska", "prevoznik", "zveza", "zbor", "oktet",
             "kvartet", "kvintet", "zasedba", "fundacija", "univerza", "inštitut", "radio",
             "mesečnik", "portal"}  # fmt: skip
# Kinds that stand before a name in apposition, not inside it: "Podjetje Petrol je ..." names
# Petrol; "Društvo upokojencev" and "Radio Ognjišče" are names with their head.
APPOSITION_KINDS = {"podjetje", "družba", "časnik", "časopis", "revija", "klub", "trgovina",
                    "tednik", "dnevnik", "skupina", "firma", "koncern", "korporacija",
                    "holding", "bend", "moštvo", "ekipa", "prevoznik", "zasedba", "mesečnik",
                    "portal"}  # fmt: skip
# Nouns that define their subject as an organisation ("X je slovensko podjetje").
DEFINING_KINDS = (
    APPOSITION_KINDS
    | {
        "stranka",
        "banka",
        "zavarovalnica",
        "agencija",
        "založba",
        "organizacija",
        "združenje",
        "društvo",
        "zveza",
        "duet",
        "duo",
        "trio",
        "ansambel",
        "orkester",
        "univerza",
        "inštitut",
        "fundacija",
        "sindikat",
        "zadruga",
        "tovarna",
        "proizvajalec",
        "izdajatelj",
        "televizija",
        "radio",
    }
) - {"skupina"}
# Heads that take a "za" phrase: "Ministrstvo za kmetijstvo in gozdarstvo".
ZA_HEADS = {"ministrstvo", "zavod", "inštitut", "institut", "urad", "agencija", "komisija",
            "društvo", "sklad", "center", "fakulteta", "svet", "zveza", "odbor", "služba",
            "direkcija", "sodišče", "šola", "akademija", "združenje", "uprava"}  # fmt: skip
# Lower-case words of place names after a capitalised adjective ("Debelem rtiču").
GEO_NOUNS = {"trg", "cesta", "ulica", "avenija", "rtič", "rt", "otok", "polotok", "jezero",
             "morje", "zaliv", "reka", "potok", "gora", "gorovje", "pogorje", "hrib", "vrh",
             "dolina", "planina", "park", "kanal", "most", "grad", "ocean", "puščava",
             "gozd", "nižina", "planota", "prelaz", "kotlina", "slap", "vas", "predor",
             "pristanišče", "letališče", "palača", "stolp", "koridor", "otočje", "ožina",
             "jama", "soteska", "barje", "polje", "kras", "hribovje", "gorstvo", "vrata",
             "cerkev", "samostan", "trdnjava", "naselje", "okrožje", "pokrajina",
             "kraljestvo", "cesarstvo", "republika", "kneževina", "vojvodina",
             "observatorij"}  # fmt: skip
# Capitalised words after "v", "na" that are no place.
NOT_PLACES = {"bog", "gospod", "kristus", "jezus", "marija", "nebesa"}
# Sports clubs: "NK Maribor", "FC Barcelona", "KK Olimpija".
CLUBS = {"NK", "FC", "KK", "HK", "RK", "ŠD", "AC", "SK", "ND", "ŠK", "OK", "AFC", "SSD", "TVD"}
# Lower-case kinds of place before a name ("v mestu Biel"), besides GEO_NOUNS.
PLACE_KINDS = {"mesto", "vas", "kraj", "zaselek", "predmestje", "četrt", "država", "regija",
               "provinca", "grofija", "kanton", "okraj", "otočje", "mestece", "trg"}  # fmt: skip
# Capital letters that are not organisations.
NOT_ACRONYMS = {"DNK", "RNK", "TV", "OK", "PC", "CD", "DVD", "HIV", "AIDS", "WC", "ID",
                "USB", "GPS", "SMS", "LCD", "PDF", "CO", "UV", "EKG", "ABS", "MP", "KM",
                "DA", "NE", "JA", "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "XII",
                "ST", "SV", "DR", "MR", "LP", "MM", "CM", "KG", "KW", "MW", "BDP", "DDV",
                "STOVL", "VTOL", "ZDA", "SFRJ", "FLRJ", "ZSSR", "SSSR", "NDH", "BIH", "STO",
                "ČSSR", "RS", "EUR", "USD", "SIT", "AM", "FM", "PM", "NN",
                # units, degrees, medical and computing terms, championships: no body
                "KV", "KB", "MB", "GB", "TB", "PS", "KS", "CCM", "MBA", "EMŠO", "DNA", "RNA",
                "PCR", "EEG", "CT", "IQ", "HTML", "XML", "HTTP", "URL", "WWW", "PHP", "SQL",
                "CPU", "RAM", "ROM", "LED", "OLED", "SP", "EP", "OI", "MMS", "IT", "IKT", "AI",
                "PPS", "TEL", "FAX", "NB", "OP", "PR", "SOS"}  # fmt: skip
# Lower-case nouns for kinds of thing: capitals after them designate a model, a type or a
# standard ("zasloni IPS", "holesterol LDL", "jezik HTML", "sistem MESMA"), not a body.
THING_KINDS = {"sistem", "zaslon", "jezik", "holesterol", "razred", "tip", "model", "format",
               "standard", "protokol", "programje", "tolmač", "prevajalnik",
               "procesor", "čip", "vmesnik", "datoteka", "virus", "gen", "vitamin", "motor",
               "serija", "različica", "verzija", "oznaka", "kratica", "letalo", "tank",
               "raketa", "vozilo", "avtomobil", "računalnik", "telefon", "naprava",
               "tehnologija", "koda", "vrsta", "enota", "sorta", "znak", "simbol", "tabela",
               "priključek", "kabel", "baterija", "zdravilo", "cepivo", "hormon", "encim",
               "receptor", "protein", "beljakovina", "molekula", "kategorija", "stopnja",
               "metoda", "test", "postopek", "igra", "album", "pesem",
               "film", "modul", "paket", "orožje", "puška", "top"}  # fmt: skip
# Words that announce a term's short form ("(angl. MEMS)"), not a name.
TERM_MARKERS = {"angl", "ang", "nem", "lat", "fr", "franc", "it", "ital", "gr", "kratica",
                "okrajšava", "okrajšano", "skrajšano", "krajše", "oz", "tj"}  # fmt: skip
# Capitalised adjectives: clearly so ("Albanskemu", "Dalíjevih", "Poslovnem"), and the
# looser shapes allowed before an organisation's head ("Državni zbor", "Narodna galerija").
_ADJECTIVE = re.compile(
    r"(?:sk|šk|čk)(?:i|a|o|e|ega|emu|em|ih|im|imi|ima|ej)$|(?:ega|emu|nem|nih|nim|vih|vim)$"
)
_POSSESSIVE = re.compile(r"(?:ov|ev|in)$|" + _ADJECTIVE.pattern)
_NAME_ADJECTIVE = re.compile(r"(?:sk|šk|čk)(?:i|a|o|e)$")
_ORG_ADJECTIVE = re.compile(r"(?:sk|šk|čk|n|j|č|ž|š|v|t|l|r|d)(?:i|a|o|e)$|" + _ADJECTIVE.pattern)
_STOP = {"in", "v", "na", "je", "so", "pa", "ki", "da", "z", "s", "za", "se", "ter", "ali",
         "bo", "bi", "sta", "ni", "od", "do", "iz", "pri", "po", "o", "k", "h", "kot"}  # fmt: skip
# Prepositions, particles and adverbs: never inside an organisation's name after its head.
_NOT_IN_NAMES = {"pod", "nad", "pred", "med", "ob", "brez", "proti", "skozi", "zaradi", "čez",
                 "okoli", "blizu", "razen", "glede", "kljub", "poleg", "preko", "mimo", "zoper",
                 "predvsem", "samo", "tudi", "še", "že", "le", "zelo", "bolj", "najbolj",
                 "vedno", "ne", "niti", "vse", "zdaj", "potem", "takrat", "tam", "tu"}  # fmt: skip
# Present-tense verbs that look like adjectives ("prenavljajo", "delajo", "gradijo").
_VERB_ENDINGS = ("ajo", "ejo", "ijo", "ojo", "ujo", "amo", "imo", "emo")
_BREAKS = _STOP | _NOT_IN_NAMES
# Heads whose seat follows with "v": "Univerza v Mariboru", "Okrožno sodišče v Kranju".
SEAT_HEADS = {"univerza", "sodišče"}


def _read_list(name: str) -> list[str]:
    text = (resources.files("livingmemory") / "data" / name).read_text("utf-8")
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]


def name_keys(word: str) -> tuple[set[str], set[str]]:
    """(the entry itself, the stems its case forms are built on): "Prešeren" ->
    prešeren, prešern (the fleeting vowel: Prešerna); "Rado" -> rad (Rada, Radu: but "Rad"
    alone is "gladly", so a stem only matches a word that carries an ending)."""
    word = word.casefold()
    stems = {word}
    if word[-1:] in "aeio" and len(word) > 3:
        stems.add(word[:-1])
    if len(word) > 4 and word[-2] == "e" and word[-1] not in "aeiou":
        stems.add(word[:-2] + word[-1])
    return {word}, stems


@lru_cache(maxsize=65536)
def word_stems(word: str) -> frozenset[str]:
    """The word minus each case ending it may carry ("Eulerju" -> euler)."""
    word = word.casefold()
    return frozenset(
        word[: -len(ending)]
        for ending in ENDINGS
        if word.endswith(ending) and len(word) - len(ending) >= 3
    )


NameIndex = tuple[dict[str, str], dict[str, str]]  # (whole word -> entry, stem -> entry)


def _index(entries: list[str]) -> NameIndex:
    whole: dict[str, str] = {}
    stems: dict[str, str] = {}
    for entry in entries:
        full, bases = name_keys(entry)
        for key in full:
            whole.setdefault(key, entry)
        for key in bases:
            stems.setdefault(key, entry)
    return whole, stems


@cache
def name_list(name: str) -> tuple[NameIndex, frozenset[str]]:
    """(index of the entries, entries that are also everyday words) from a data file."""
    entries = _read_list(name)
    common = frozenset(e.rstrip("*") for e in entries if e.endswith("*"))
    return _index([e.rstrip("*") for e in entries]), common


@lru_cache(maxsize=1)
def first_name_index() -> NameIndex:
    return _index([name.title() for name in sorted(first_names())])


# First names that are also everyday words ("Vera" faith, "Rok" deadline, "Cene" prices):
# alone, only inside a sentence.
COMMON_FIRST_NAMES = {"vera", "nada", "zora", "mira", "vida", "jasna", "dan", "sreča", "slava",
                      "zlata", "rok", "stane", "cene", "luka", "vesna", "tone", "tit", "roža",
                      "ema", "bor", "jaka", "živa", "zala", "mark", "maja", "ivo", "lea",
                      "ida", "ana", "karmen", "nina", "lili", "iva", "tina", "gregor", "martin",
                      "david", "adam", "kaja", "tanja", "jana", "simon", "filip", "pavla",
                      "ali", "emil", "hana", "teja", "frank", "franc", "france"}  # fmt: skip


def lookup(token: Token, index: NameIndex) -> str | None:
    """The entry a word is a form of, if any: the word itself or its lemma is the entry, or
    the word minus a case ending is the entry's stem."""
    whole, stems = index
    lower = token.lower_
    if lower in whole:
        return whole[lower]
    for form in token._.lm_forms or ():
        if form in whole:
            return whole[form]
    for stem in word_stems(lower):
        if stem in stems:
            return stems[stem]
    return None


def _title(token: Token) -> bool:
    return token.is_alpha and token.is_title and len(token) > 1


def _is_roman(token: Token) -> bool:
    return bool(ROMAN.match(token.text)) and token.text[:1] in "IVX"


def _set(span: Span, canonical: str, confidence: float) -> Span:
    span._.lm_canonical = canonical
    span._.lm_confidence = confidence
    return span


class SlovenianNames:
    """``lm_sl_names``: the rule families in the module docstring. Each can be switched off
    (the benchmark measures them one by one)."""

    def __init__(self, rules: dict[str, bool] | None = None) -> None:
        self.rules = {name: True for name in RULES}
        self.rules.update(rules or {})

    def __call__(self, doc: Doc) -> Doc:
        run = _NameRun(doc, self.rules)
        for step in RULE_STEPS:
            if step == "single_words" or self.rules[step]:
                getattr(run, step)()
        return run.finish()


class _NameRun:
    """The rules applied to one document: its entities so far (``ents``, replaced as rules
    put better spans), the surnames it has named in full, and one method per rule family."""

    def __init__(self, doc: Doc, rules: dict[str, bool]) -> None:
        self.doc = doc
        context: dict[str, Any] = doc.user_data.setdefault("lm_context", {})
        self.memory: NameIndex = context.setdefault("surnames", ({}, {}))
        self.original = list(doc.ents)
        self.ents = list(self.original)
        if rules["organisation_capitals"] and not _shouting(doc):
            # The name of an organisation starts with a capital letter (Slovenski pravopis):
            # "državni zbor", "slovenska vlada", "evropske komisije" written small are
            # descriptions, not names, and Slovenian NER gold leaves them out.
            self.ents = [e for e in self.ents if e.label_ != "ORG" or not doc[e.start].is_lower]
        self.rules = rules
        self.metadata_people = set(doc.user_data.get("people", ()))
        self.firsts = first_name_index()
        self.surnames, self.common_surnames = name_list("surnames.txt")
        self.peoples, _ = name_list("demonyms.txt")

    def owner(self, i: int) -> Span | None:
        return next((e for e in self.ents if e.start <= i < e.end), None)

    def replaceable(self, i: int, end: int, weak_places: bool = True) -> bool:
        """Tokens i..end are free, or held only by guesses a name rule may override:
        low-confidence rule entities, one-word gazetteer places, capitalised pairs."""
        for k in range(i, end):
            ent = self.owner(k)
            if ent is None:
                continue
            if ent.label_ in ("DATE", "ORG") or ent._.lm_canonical in self.metadata_people:
                return False  # the recording's own people come from its metadata
            if ent.label_ == "LOC" and ent.ent_id_ and not (weak_places and len(ent) == 1):
                return False
            weak = ent._.lm_confidence <= 0.6 or (ent.ent_id_ and len(ent) == 1)
            if (ent.start < i or ent.end > end) and not weak:
                return False
        return True

    def put(self, span: Span) -> None:
        self.ents = [e for e in self.ents if e.end <= span.start or e.start >= span.end]
        self.ents.append(span)

    def name_end(self, i: int, limit: int = 4) -> int:
        """End of a run of capitalised words from i (particles and I./II. inside)."""
        end = i
        while end < len(self.doc) and end - i < limit:
            token = self.doc[end]
            if (
                _title(token)
                or (end > i and _is_roman(token))
                or (
                    end > i
                    and token.lower_ in PARTICLES
                    and end + 1 < len(self.doc)
                    and _title(self.doc[end + 1])
                )
            ):
                end += 1
            else:
                break
        return end

    def remember(self, span: Span, canonical: str) -> None:
        if len(span) >= 2 and _title(span[-1]):
            full, bases = name_keys(canonical.split()[-1])
            for key in full | {span[-1].lower_}:
                self.memory[0].setdefault(key, canonical)
            for key in bases | word_stems(span[-1].text):
                self.memory[1].setdefault(key, canonical)

    # -- the rule families, in the order they run ----------------------------------------

    def first_name_chain(self) -> None:
        """1. A first name and the capitalised words after it."""
        i = 0
        while i < len(self.doc):
            token = self.doc[i]
            end = self.name_end(i) if _title(token) and lookup(token, self.firsts) else i
            if end - i >= 2:
                if self.replaceable(i, end):
                    span = Span(self.doc, i, end, label="PER")
                    canonical = _canonical(span, self.firsts, self.surnames)
                    self.put(_set(span, canonical, 0.75))
                    self.remember(span, canonical)
                i = end
            else:
                i += 1

    def roles(self) -> None:
        """2. Roles and titles before capitalised words."""
        for token in self.doc[:-1]:
            word = token.lower_.rstrip(".")
            if word not in ROLES and (token._.lm_lemma or "") not in ROLES:
                continue
            start = token.i + 1
            if start < len(self.doc) and self.doc[start].text == "." and token.text[-1:] != ".":
                start += 1
            end = self.name_end(start, 3)
            if end > start and self.replaceable(start, end, weak_places=False):
                if lookup(self.doc[start], self.peoples):
                    continue
                if (
                    end < len(self.doc)
                    and self.doc[end].is_lower
                    and _ORG_ADJECTIVE.search(self.doc[end - 1].lower_)
                ):
                    continue  # "predsednik Slovenske akademije": an adjective, no name
                span = Span(self.doc, start, end, label="PER")
                canonical = _canonical(span, self.firsts, self.surnames)
                self.put(_set(span, canonical, 0.7))
                self.remember(span, canonical)

    def single_words(self) -> None:
        """3. Surnames the document has already named in full, known surnames, first names
        alone and names of peoples."""
        for token in self.doc:
            i = token.i
            if not _title(token) or (self.owner(i) is not None and not self.replaceable(i, i + 1)):
                continue
            if (holder := self.owner(i)) is not None and holder.label_ == "PER":
                continue
            initial = token.is_sent_start or (i > 0 and self.doc[i - 1].text in '»«"„“(-–—:')
            found = None
            if self.rules["document_memory"] and (hit := lookup(token, self.memory)):
                found = (hit, 0.7)
            elif self.rules["surnames"] and (hit := lookup(token, self.surnames)):
                if not (initial and hit in self.common_surnames):
                    found = (hit, 0.65)
            elif (self.rules["peoples"] and (hit := lookup(token, self.peoples))) or (
                self.rules["first_names"]
                and (hit := lookup(token, self.firsts))
                and not (initial and hit.casefold() in COMMON_FIRST_NAMES)
                and not ((holder := self.owner(i)) is not None and holder.ent_id_)
            ):
                found = (hit, 0.6)
            if found:
                self.put(_set(Span(self.doc, i, i + 1, label="PER"), found[0], found[1]))

    def organisations(self) -> None:
        """4. Organisations."""
        for span in _organisations(self.doc, self.ents):
            overlapping = [e for e in self.ents if e.start < span.end and span.start < e.end]
            n = len(span)
            if any(
                e.label_ == "ORG" and (len(e) > n or (len(e) == n and e.ent_id_))
                for e in overlapping
            ):
                continue  # a longer name, or the gazetteer's own
            if any(e.label_ == "DATE" for e in overlapping):
                continue
            self.put(_set(span, _head_canonical(span), 0.65))

    def organisation_kinds(self) -> None:
        # "podjetje Petrol", "časnik Delo", "stranka SDS": a lower-case kind of
        # organisation names the capitalised words after it (they are the name).
        for token in self.doc[:-1]:
            # lower-case, or opening a sentence ("Skupina Koki je ...", "Revija Zdravje")
            initial = bool(token.is_sent_start) and token.is_title
            if not (token.is_lower or initial):
                continue
            kinds = set(token._.lm_forms or ()) & ORG_KINDS
            if not kinds or not (token.is_lower or kinds & APPOSITION_KINDS):
                continue
            if _plural_genitive(token):
                continue  # "klubov Madžarske": clubs of a country, not a club's name
            start = token.i + 1
            end = self.name_end(start, 3)
            if end == start and self.doc[start].is_upper and self.doc[start].is_alpha:
                end = start + 1
            if end == start:
                continue
            # "Podjetje Akrapovič izdeluje ...": the name without its kind, over the
            # head rule's "Podjetje Akrapovič".
            whole = next((e for e in self.ents if e.start == token.i and e.end == end), None)
            if not (initial and whole is not None and whole.label_ == "ORG"):
                whole = None
            elif whole.ent_id_:
                continue  # a known name that starts with the kind
            kept = self.ents
            if whole is not None:
                self.ents = [e for e in self.ents if e is not whole]
            if (
                not self.replaceable(start, end)
                or (
                    lookup(self.doc[start], self.firsts) and end - start >= 2
                )  # "društvo Janez Novak"
                or lookup(self.doc[start], self.peoples)  # "skupina Nemcev": people, not a band
                or any(e.label_ == "ORG" for e in self.ents if e.start < end and start < e.end)
            ):
                self.ents = kept
                continue
            span = Span(self.doc, start, end, label="ORG")
            self.put(_set(span, span.text, 0.6))

    def organisation_definitions(self) -> None:
        if _shouting(self.doc):
            return
        # "Wham! je bil angleški glasbeni duet", "Akrapovič je slovensko podjetje": the
        # subject of a definition whose noun is a kind of organisation is one.
        for token in self.doc:
            if not token.is_sent_start or not token.is_alpha or token.is_lower:
                continue
            # to the end of the text: the sentencizer ends a sentence at "Wham!"
            defined = _defined_organisation(self.doc, token.i, len(self.doc))
            if defined is None:
                continue
            overlapping = [e for e in self.ents if e.start < defined.end and defined.start < e.end]
            if any(
                e.label_ == "DATE" or (e.ent_id_ and (e.label_ == "ORG" or len(e) > 1))
                for e in overlapping
            ):
                continue  # a date, a known organisation, a known place of two words
            self.put(_set(defined, defined.text, 0.7))

    def acronyms(self) -> None:
        if _shouting(self.doc):
            return
        for token in self.doc:
            text, i = token.text, token.i
            # "SDS-a", "NLB-ju": an acronym with its case ending (not "AH-64")
            suffixed = components._CASE_SUFFIX.match(text)
            bare = suffixed.group(1) if suffixed else text
            if (
                bare.isupper()
                and bare.isalpha()
                and 2 <= len(bare) <= 6
                and bare not in NOT_ACRONYMS
                and self.owner(i) is None
                and not _acronym_of_a_thing(self.doc, i)
            ):
                span = Span(self.doc, i, i + 1, label="ORG")
                self.put(_set(span, span.text, 0.55))
        for token in self.doc[:-1]:
            # "NK Triglav", "FC Barcelona": a club, not the mountain or the city.
            end = self.name_end(token.i + 1, 2)
            if token.text in CLUBS and end > token.i + 1:
                span = Span(self.doc, token.i, end, label="ORG")
                self.put(_set(span, span.text, 0.7))

    def adjective_places(self) -> None:
        """5. Places: a capitalised adjective with a place noun ("na Debelem rtiču"); a
        capitalised adjective alone is no place ("Albanskemu", "Dalíjevih")."""
        for ent in list(self.ents):
            if ent.label_ != "LOC" or ent.ent_id_ or ent._.lm_confidence > 0.5:
                continue
            if set(self.doc[ent.start]._.lm_forms or ()) & NOT_PLACES:
                self.ents = [e for e in self.ents if e is not ent]  # "vera v Boga"
                continue
            last = self.doc[ent.end - 1]
            nxt = self.doc[ent.end] if ent.end < len(self.doc) else None
            geo = nxt is not None and nxt.is_lower and _geo(nxt)
            if not geo and not _ADJECTIVE.search(last.lower_):
                continue
            if nxt is not None and nxt.is_lower and (nxt._.lm_lemma or "") in GEO_NOUNS:
                span = Span(self.doc, ent.start, ent.end + 1, label="LOC")
                self.put(_set(span, " ".join(t.text for t in span), 0.55))
            elif nxt is not None and nxt.is_lower:
                self.ents = [e for e in self.ents if e is not ent]
        for token in self.doc[:-1]:
            nxt = self.doc[token.i + 1]
            own = self.owner(token.i)
            weak = own is not None and own.label_ == "LOC" and not own.ent_id_
            if not _title(token) or (own is not None and not weak):
                continue
            if self.owner(nxt.i) is not None and not _geo(token):
                continue
            if (
                (not token.is_sent_start or _POSSESSIVE.search(token.lower_))
                and (_ORG_ADJECTIVE.search(token.lower_) or _POSSESSIVE.search(token.lower_))
                and nxt.is_lower
                and _geo(nxt)
            ):
                # "Rdeči trg", "na Debelem rtiču", "Vasarijev koridor"
                span = Span(self.doc, token.i, token.i + 2, label="LOC")
                self.put(_set(span, span.text, 0.55))
            elif _geo(token) and _title(nxt) and not _verb(nxt):
                # "Gorovje Khangai", "Trg Franceta Prešerna": the person a place is
                # named after is part of its name.
                end = self.name_end(nxt.i, 3)
                inside = [self.owner(k) for k in range(nxt.i, end)]
                if all(
                    e is None or (e.label_ == "PER" and e.start >= nxt.i and e.end <= end)
                    for e in inside
                ):
                    span = Span(self.doc, token.i, end, label="LOC")
                    self.put(_set(span, _head_canonical(span), 0.55))

    def place_kinds(self) -> None:
        # "v mestu Biel", "soteska Golubac": a lower-case kind of place names the
        # capitalised words after it.
        for token in self.doc[:-1]:
            kind = _geo(token) or (token._.lm_lemma or "") in PLACE_KINDS
            if not token.is_lower or not kind:
                continue
            start = token.i + 1
            end = self.name_end(start, 2)
            if end == start or not self.replaceable(start, end):
                continue
            held = [self.owner(k) for k in range(start, end)]
            if any(e is not None and e.label_ != "PER" for e in held):
                continue
            if lookup(self.doc[start], self.firsts) or lookup(self.doc[start], self.surnames):
                continue  # "vas Janeza Novaka"? the owner, not the village
            span = Span(self.doc, start, end, label="LOC")
            self.put(_set(span, span.text, 0.55))

    def finish(self) -> Doc:
        """The document with the new entities (unchanged when no rule changed any)."""
        doc, ents = self.doc, self.ents
        # A new span's entity id falls back to its root token's, which may still be the one
        # word place it replaced ("France" -> Francija): clear the tokens' ids first.
        if [id(e) for e in ents] == [id(e) for e in self.original]:
            return doc  # nothing changed: setting the entities again costs time
        for token in doc:
            token.ent_id = 0
        doc.ents = filter_spans(ents)
        return doc


RULES = (
    "first_name_chain", "roles", "document_memory", "surnames", "peoples", "first_names",
    "organisations", "organisation_kinds", "organisation_definitions", "acronyms",
    "organisation_capitals",
    "adjective_places", "place_kinds",
)  # fmt: skip
# The methods of _NameRun in the order they run; "single_words" applies document_memory,
# surnames, peoples and first_names, each switched on or off by itself; organisation_capitals
# filters the entities a run starts from.
RULE_STEPS = (
    "first_name_chain",
    "roles",
    "single_words",
    "organisations",
    "organisation_kinds",
    "organisation_definitions",
    "acronyms",
    "adjective_places",
    "place_kinds",
)


def _canonical(span: Span, firsts: NameIndex, surnames: NameIndex) -> str:
    """Nominative where the lists know the words ("Franceta Prešerna" -> France Prešeren),
    the lemma otherwise, the text for foreign names lemmagen would mangle."""
    words = []
    for token in span:
        known = lookup(token, firsts) or lookup(token, surnames)
        if known:
            words.append(known)
        elif token._.lm_lemma and token._.lm_lemma.isalpha() and token.is_title:
            lemma = token._.lm_lemma
            words.append(lemma[:1].upper() + lemma[1:])
        else:
            words.append(token.text)
    return " ".join(words)


def _head_canonical(span: Span) -> str:
    """A name that starts with its head word in the head's nominative, the rest as written
    (a genitive stays one): "Trgu Franceta Prešerna" -> Trg Franceta Prešerna."""
    forms = span[0]._.lm_forms or ()
    heads = ORG_HEADS | GEO_NOUNS | PLACE_KINDS
    head = next((f for f in forms if f in heads), None)
    if head is None or not span[0].is_title:
        return span.text  # "Osnovne šole ...": an adjective first, kept as written
    return " ".join([head[:1].upper() + head[1:], *(t.text for t in span[1:])])


def _geo(token: Token) -> bool:
    return (token._.lm_lemma or token.lower_).rstrip(".") in GEO_NOUNS


def _shouting(doc: Doc) -> bool:
    return components._shouting(doc)  # cached on the doc: several rules ask


def _head(token: Token) -> str | None:
    forms = set(token._.lm_forms or (token.lower_,))
    return next((h for h in ORG_HEADS if h in forms), None)


def _verb(token: Token) -> bool:
    lemma = token._.lm_lemma or ""
    return lemma.endswith(("ti", "či")) and lemma != token.lower_


# Words that open a sentence capitalised without being a name.
_FUNCTION_WORDS = {"ko", "ker", "res", "kdo", "kaj", "to", "ta", "te", "ti", "tak", "taka",
                   "tako", "vsak", "vsaka", "kdaj", "kje", "kako", "zakaj", "če", "ali", "a",
                   "toda", "vendar", "zato", "torej", "nato", "danes", "včeraj", "jutri",
                   "letos", "lani", "sedaj", "kar", "prav", "morda", "mogoče", "nekoč",
                   "sicer", "naša", "naše", "naš", "moja", "moj", "njegova", "njena", "ena",
                   "en", "eno", "edina", "prva", "druga", "nova", "stara", "največja",
                   "taisti", "tudi", "saj", "ampak", "medtem", "čeprav", "ne", "ni", "kot",
                   "ja", "no", "pač", "vsi", "vse", "oba", "obe"}  # fmt: skip
_NO_SUBJECT = _FUNCTION_WORDS | _BREAKS
# Copulas that open a definition: "X je (bil) ...", "X so (bili) ...".
_COPULAS = {"je", "so", "sta"}
_WAS = {"bil", "bila", "bilo", "bili", "bile", "postal", "postala", "postalo", "postali"}


def _defined_organisation(doc: Doc, start: int, end: int) -> Span | None:
    """The capitalised subject at the start of a sentence that defines it as a kind of
    organisation: "Wham! je bil angleški glasbeni duet" -> Wham!, "Akrapovič je slovensko
    podjetje" -> Akrapovič. A "!" glued to the name and followed by a lower-case word cannot
    end the sentence, so it belongs to the name ("Wham!", "Yahoo!")."""
    k = start
    while k < end and k - start < 4 and (_title(doc[k]) or (doc[k].is_upper and doc[k].is_alpha)):
        k += 1
    if k == start or k >= end or doc[start].lower_ in _NO_SUBJECT:
        return None  # "Res je agencija ...", "Ko je produkcijska firma ...": no subject
    name_stop = k
    if doc[k].text == "!" and not doc[k - 1].whitespace_ and doc[k].whitespace_:
        k += 1
        name_stop = k
    if doc[k].lower_ not in _COPULAS:
        return None
    k += 1
    if k < end and doc[k].lower_ in _WAS:
        k += 1
    adjectives = 0
    while k < end and adjectives < 3 and doc[k].is_lower and _ORG_ADJECTIVE.search(doc[k].lower_):
        if set(doc[k]._.lm_forms or ()) & (DEFINING_KINDS | {"skupina"}):
            break
        k += 1
        adjectives += 1
    if k >= end or not doc[k].is_lower:
        return None
    kinds = set(doc[k]._.lm_forms or ())
    musical = any(t.lower_.startswith("glasben") for t in doc[k - adjectives : k])
    if not (kinds & DEFINING_KINDS or ("skupina" in kinds and musical)):
        return None  # "glasbena skupina" is a band; "etnična skupina" is not
    if _plural_genitive(doc[k]):
        return None
    return Span(doc, start, name_stop, label="ORG")


def _genitive_word(token: Token) -> bool:
    """A lower-case word that may belong to a name's genitive: no verb, function word or
    preposition."""
    return (
        token.is_lower
        and token.is_alpha
        and token.lower_ not in _BREAKS
        and not _verb(token)
        and not token.lower_.endswith(_VERB_ENDINGS)
    )


def _plural_genitive(token: Token) -> bool:
    """A noun in the genitive plural ("klubov", "društev", "strank", "podjetij"): a kind
    in the plural names the members of a group, not one organisation."""
    lower, lemma = token.lower_, token._.lm_lemma or token.lower_
    if lower == lemma:
        return False
    return lower.endswith(("ov", "ev", "ij")) or (lemma[-1:] in ("a", "o") and lower == lemma[:-1])


def _acronym_of_a_thing(doc: Doc, i: int) -> bool:
    """Capitals at ``doc[i]`` that are no organisation's short name: the short form of a
    common noun ("respiratorni sincicijski virus (RSV)", "(angl. MEMS)"), a type after a
    kind of thing ("zasloni IPS", "holesterol LDL"), or a word of a headline or speaker
    label typed in capitals ("STRAH PRED PODRAŽITVIJO", "JAZ: ...")."""
    before = [t for t in doc[max(0, i - 3) : i] if t.text not in "(.)"]
    if i >= 2 and doc[i - 1].text == "(" and doc[i - 2].is_lower:
        return True
    if before and before[-1].lower_.rstrip(".") in TERM_MARKERS:
        return True
    if i >= 1 and set(doc[i - 1]._.lm_forms or ()) & THING_KINDS:
        return True
    for k in (i - 1, i + 1):
        if 0 <= k < len(doc) and doc[k].is_alpha and doc[k].is_upper and len(doc[k]) > 1:
            return True  # two words in capitals: a headline, not an acronym
    return bool(doc[i].is_sent_start) and i + 1 < len(doc) and doc[i + 1].text == ":"


def _organisations(doc: Doc, ents: list[Span]) -> list[Span]:
    """Head + genitive or "za" phrase, and capitalised adjective + head."""
    spans = []
    i = 0
    while i < len(doc):
        token = doc[i]
        head = _head(token)
        start = i
        # At the start of a sentence a capital proves nothing: an adjective + head there is
        # a name when the adjective is made from a name ("Slovenska vojska") or a name
        # follows the head ("Krajevna skupnost Naklo", "Okrožno sodišče v Kranju"), not in
        # "Tovrstna uprava je ...".
        needs_name = False
        if (
            head is None
            and _title(token)
            and not _verb(token)
            and _ORG_ADJECTIVE.search(token.lower_)
        ):
            found = _adjective_head(doc, i, ents)
            if found is None:
                i += 1
                continue
            i, head, needs_name = found
        elif head is None or not _title(token):
            i += 1
            continue
        end = _za_phrase_end(doc, i + 1) if head in ZA_HEADS else i + 1
        # "Univerza v Mariboru", "Okrožno sodišče v Kranju": the seat is part of the name.
        if (
            head in SEAT_HEADS
            and end == i + 1
            and end + 1 < len(doc)
            and doc[end].lower_ == "v"
            and _title(doc[end + 1])
        ):
            end += 2
        end = _name_words_end(doc, i, start, end)
        if needs_name and end == i + 1:
            end = start  # nothing named after the head: no span
        if end - start >= 2:
            # Extension values live on the doc by offsets: set them only once the span is
            # kept, or a gazetteer match with the same offsets would lose its own.
            spans.append(Span(doc, start, end, label="ORG"))
            i = end
        else:
            i += 1
    return spans


def _adjective_head(doc: Doc, i: int, ents: list[Span]) -> tuple[int, str, bool] | None:
    """ "Državni zbor", "Evropska unija", "Slovenska akademija": a capitalised adjective at
    ``i`` (and up to two more) before a head; (the head's index, the head, whether a name
    must follow it), or None."""
    token = doc[i]
    if any(e.label_ == "LOC" and e.ent_id_ and e.start == e.end - 1 == i for e in ents):
        return None  # "v Krškem": a town whose name is an adjective
    needs_name = bool(token.is_sent_start) and not _NAME_ADJECTIVE.search(token.lower_)
    j = i + 1
    while (
        j < len(doc)
        and j - i <= 2
        and doc[j].is_lower
        and _ORG_ADJECTIVE.search(doc[j].lower_)
        and not doc[j].lower_.endswith(_VERB_ENDINGS)
        and not _head(doc[j])
    ):
        j += 1
    if j < len(doc) and doc[j].is_lower and (head := _head(doc[j])):
        return j, head, needs_name
    return None


def _za_phrase_end(doc: Doc, end: int) -> int:
    """The end of a "za" phrase after an organisation's head at ``end - 1``, or ``end``."""
    # A "za" phrase: lower-case words up to a verb, a function word or punctuation;
    # a list inside it ("Ministrstvo za kmetijstvo, gozdarstvo in prehrano") only when
    # "in" closes it.
    if end < len(doc) and doc[end].lower_ == "za":
        k, comma = end + 1, None
        while k < len(doc) and k - end <= 8:
            word = doc[k]
            if word.lower_ == "in" and k + 1 < len(doc) and doc[k + 1].is_alpha:
                if _verb(doc[k + 1]) or doc[k + 1].lower_ in _BREAKS:
                    break
                k, comma = k + 1, None
                continue
            if (
                word.text == ","
                and comma is None
                and k + 1 < len(doc)
                and doc[k + 1].is_lower
                and doc[k + 1].is_alpha
                and not _verb(doc[k + 1])
                and doc[k + 1].lower_ not in _BREAKS
            ):
                comma = k
                k += 1
                continue
            if (
                not word.is_alpha
                or word.lower_ in _BREAKS
                or _verb(word)
                or not word.is_lower  # capitalised words: the genitive loop below
            ):
                break
            k += 1
        if comma is not None:
            k = comma  # a list that no "in" closed: the name ends before the comma
        if k > end + 1 and doc[k - 1].lower_ != "in":
            end = k
    return end


def _name_words_end(doc: Doc, i: int, start: int, end: int) -> int:
    """The end of the words that belong to a name whose head is ``doc[i]`` (from ``start``):
    a capitalised genitive, lower-case words before a capitalised one, or a genitive plural."""
    token = doc[start]
    # Capitalised words (a genitive: "Republike Slovenije"); a lower-case word only when
    # a capitalised one follows ("Društvo upokojencev Jesenice").
    firsts = first_name_index()
    while end < len(doc) and end - start <= 7:
        nxt = doc[end]
        if not nxt.is_alpha or nxt.lower_ in _STOP or _verb(nxt):
            break
        if (
            _title(nxt)
            and end + 1 < len(doc)
            and _title(doc[end + 1])
            and end > i + 1
            and lookup(nxt, firsts)
        ):
            # A person after a complete name is someone there, not part of it:
            # "direktorja Uprave za zračno plovbo Matjaža Sonca" (but "Gimnazija
            # Franceta Prešerna" and "Osnovna šola France Prešeren", right after the
            # head, are named after the poet).
            break
        if _title(nxt) or (nxt.is_upper and len(nxt) > 1):
            end += 1
            continue
        # Up to two lower-case words before a capitalised one ("Društvo kmečkih žena
        # Cerklje"); without one they are the sentence, not the name. Prepositions
        # start a phrase about the organisation ("Orkester pod vodstvom Uweja ...").
        ahead = end
        while (
            ahead < len(doc)
            and ahead - end < 2
            and doc[ahead].is_lower
            and doc[ahead].is_alpha
            and doc[ahead].lower_ not in _BREAKS
            and not _verb(doc[ahead])
        ):
            ahead += 1
        if ahead > end and ahead < len(doc) and _title(doc[ahead]):
            end = ahead
            continue
        break
    initial = token.is_sent_start or (i > 0 and doc[i - 1].text in '»«"„“(-–—:')
    if end == i + 1 and start == i and not initial and end + 1 < len(doc):
        # A capitalised head inside a sentence is a name's even with only lower-case
        # words after it, when they are a genitive plural: "član Zveze borcev",
        # "Društvo upokojencev", "Društvo kmečkih žena".
        first, second = doc[end], doc[end + 1]
        if _genitive_word(first) and first.lower_.endswith(("ov", "ev")):
            end += 1
        elif (
            _genitive_word(first)
            and first.lower_.endswith(("ih", "ega"))
            and _genitive_word(second)
        ):
            end += 2
    return end


@Language.factory("lm_sl_names", default_config={"rules": {}})
def make_names(nlp: Language, name: str, rules: dict[str, bool]) -> SlovenianNames:
    return SlovenianNames(rules)
