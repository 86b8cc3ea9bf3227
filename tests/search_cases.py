"""Query/text pairs for search precision and recall (tests/test_search_quality.py and
benchmarks/search.py): Slovenian oral-history style sentences, true hits in any inflected
form, and near-miss traps ("Jesenice" is not "jeseni", "Kranj" is not "kraj", "krave" or
"kratek"). Keep it growing: every wrong hit or miss reported by a user belongs here.
"""

from __future__ import annotations

SENTENCES = {
    "jesenice_1": "Na Jesenicah smo živeli do leta 1955.",
    "jesen_1": "V jeseni smo vedno kopali krompir.",
    "kranj_1": "Oče je hodil na delo v Kranj z vlakom.",
    "kraj_1": "Kraj, kjer sem se rodila, je bil majhen.",
    "krava_1": "Imeli smo dve kravi in eno kozo.",
    "kratek_1": "To je bil kratek čas, samo dve leti.",
    "krava_2": "Krave smo gnali na pašo pod Stol.",
    "zelezarna_1": "Po vojni sem delala v Železarni Jesenice.",
    "loka_1": "Iz Škofje Loke je prišla nova učiteljica.",
    "bohinj_1": "Poleti smo šli v Bohinj na planino.",
    "bohinj_2": "V Bohinju je bilo pozimi veliko snega.",
    "amerika_1": "Brat je odšel v Ameriko leta 1923.",
    "trzic_1": "Mama je bila šivilja v Tržiču.",
    "bled_1": "Na Bledu smo prodajali čipke turistom.",
    "vojna_1": "Ko je prišla vojna, so Nemci zasedli vas.",
    "bled_2": "Bled je bil takrat čisto drugačen.",
    "radovljica_1": "Iz Radovljice smo se vozili s kolesom.",
    "kranj_2": "V Kranju je bila tovarna Iskra.",
    "klobasa_1": "Kranjska klobasa je bila samo za praznike.",
    "jesen_2": "Jeseni je padlo listje in začela se je šola.",
    "rudnik_1": "Delal sem v rudniku, ne v železarni.",
    "sola_1": "Hodili smo v šolo peš, tri ure na dan.",
    "kratek_2": "Kratka pot do cerkve je vodila čez polje.",
    "kranjcani_1": "Kranjčani so nas imeli za hribovce.",
}

# (query, sentence key, should it be found)
CASES: list[tuple[str, str, bool]] = [
    ("Jesenice", "jesenice_1", True),
    ("Jesenice", "zelezarna_1", True),
    ("Jesenice", "jesen_1", False),
    ("Jesenice", "jesen_2", False),
    ("na Jesenicah", "jesenice_1", True),
    ("na Jesenicah", "zelezarna_1", True),
    ("na Jesenicah", "jesen_1", False),
    ("jesenice", "jesenice_1", True),
    ("jesenice", "jesen_2", False),
    ("Kranj", "kranj_1", True),
    ("Kranj", "kranj_2", True),
    ("Kranj", "kraj_1", False),
    ("Kranj", "krava_1", False),
    ("Kranj", "kratek_1", False),
    ("Kranj", "krava_2", False),
    ("Kranj", "klobasa_1", False),
    ("Kranj", "kratek_2", False),
    ("Kranj", "kranjcani_1", False),
    ("krava", "krava_1", True),
    ("krava", "krava_2", True),
    ("krava", "kranj_1", False),
    ("krava", "kranj_2", False),
    ("Bohinju", "bohinj_1", True),
    ("Bohinju", "bohinj_2", True),
    ("Bohinj", "bohinj_2", True),
    ("Škofja Loka", "loka_1", True),
    ("iz Škofje Loke", "loka_1", True),
    ("skofja loka", "loka_1", True),
    ("železarna", "zelezarna_1", True),
    ("železarna", "rudnik_1", True),
    ("zelezarni", "zelezarna_1", True),
    ("jesen", "jesen_1", True),
    ("jesen", "jesen_2", True),
    ("jesen", "jesenice_1", False),
    ("jesen", "zelezarna_1", False),
    ("Bled", "bled_1", True),
    ("Bledu", "bled_2", True),
    ("vojna", "vojna_1", True),
    ("vojna", "zelezarna_1", True),
    ("Tržič", "trzic_1", True),
    ("trzic", "trzic_1", True),
    ("Radovljica", "radovljica_1", True),
    ("šola", "jesen_2", True),
    ("šola", "sola_1", True),
    ("kratek", "kratek_1", True),
    ("kratek", "kratek_2", True),
    ("kratek", "kranj_1", False),
    ("kraj", "kraj_1", True),
    ("kraj", "kranj_1", False),
    ("kraj", "kranj_2", False),
    ("Amerika", "amerika_1", True),
    ("1923", "amerika_1", True),
]


def score(found: dict[tuple[str, str], bool]) -> dict[str, float]:
    """Precision and recall over CASES, given whether each pair's sentence was found."""
    tp = sum(1 for q, key, want in CASES if want and found[(q, key)])
    fp = sum(1 for q, key, want in CASES if not want and found[(q, key)])
    fn = sum(1 for q, key, want in CASES if want and not found[(q, key)])
    return {
        "pairs": len(CASES),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "true_hits": tp,
        "wrong_hits": fp,
        "misses": fn,
    }
