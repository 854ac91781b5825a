"""Demo body texts: plausible French lines for each demo document type (the markup of
:mod:`wallet.demo.pdfkit.layout`).

Names, cities and schools are drawn from the ``rng`` the caller gives, so a seed always gives the same body
(and the same PDF bytes).
"""
from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Content", "demo_body", "demo_content"]

Content = tuple[dict[str, str], list[str]]
"""A demo document's key-fact attributes and its body lines."""

_CITIES = ("Rabat", "Casablanca", "Fès", "Marrakech", "Tanger", "Meknès", "Agadir", "Oujda", "Kénitra",
           "Tétouan", "Salé", "El Jadida", "Béni Mellal", "Nador", "Safi", "Laâyoune")
_FIRST_M = ("Mohammed", "Ahmed", "Youssef", "Omar", "Hassan", "Abdellah", "Rachid", "Mustapha", "Driss", "Karim")
_FIRST_F = ("Fatima", "Khadija", "Aicha", "Naima", "Zineb", "Malika", "Latifa", "Samira", "Hayat", "Saida")
_LAST = ("Alaoui", "Bennani", "El Idrissi", "Tazi", "Berrada", "Cherkaoui", "El Amrani", "Benjelloun",
         "Ouazzani", "Lahlou", "Fassi Fihri", "Chraibi", "Sqalli", "Ziani")
_SCHOOLS = ("Lycée qualifiant Ibn Khaldoun", "Lycée qualifiant Moulay Youssef", "Lycée qualifiant Al Khawarizmi",
            "Lycée qualifiant Ibn Sina", "Lycée qualifiant Lalla Nezha", "Lycée qualifiant Omar Ibn Abdelaziz")
_STREETS = ("boulevard Mohammed V", "avenue Hassan II", "boulevard Zerktouni", "rue Allal Ben Abdellah",
            "avenue des FAR", "boulevard Anfa", "rue Ibn Batouta", "avenue Mohammed VI")


def _fr_number(value: float, decimals: int = 2) -> str:
    whole, _, frac = f"{value:,.{decimals}f}".partition(".")
    whole = whole.replace(",", " ")
    return f"{whole},{frac}" if decimals else whole


def _birth(rng: random.Random, min_age: int, max_age: int, ref_year: int = 2025) -> str:
    year = ref_year - rng.randint(min_age, max_age)
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year} à {rng.choice(_CITIES)}"


def _massar(rng: random.Random) -> str:
    return rng.choice("DGJKMPRS") + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _appreciation(mark: float) -> str:
    for threshold, word in ((17, "Excellent"), (15, "Très bien"), (13, "Bien"), (11, "Assez bien"),
                            (10, "Passable")):
        if mark >= threshold:
            return word
    return "Insuffisant"


def _criminal_record(holder_name: str, surname: str, rng: random.Random) -> Content:
    """Bulletin n° 3: no conviction on record."""
    court_city = rng.choice(_CITIES[:12])
    return {"convictions": "none"}, [
        "# Bulletin n° 3 du casier judiciaire",
        f"Nom et prénom : {holder_name}",
        f"Né(e) le : {_birth(rng, 19, 70)}",
        f"Fils/Fille de : {rng.choice(_FIRST_M)} {surname} et de {rng.choice(_FIRST_F)} {rng.choice(_LAST)}",
        "Nationalité : Marocaine",
        "",
        "# Relevé des condamnations",
        "Condamnations : Néant",
        "Déchéances et incapacités : Néant",
        "",
        ("Le présent bulletin atteste qu'aucune condamnation n'est inscrite au casier judiciaire de "
        "l'intéressé(e) à la date de sa délivrance."),
        f"Service du casier judiciaire — Tribunal de première instance de {court_city}.",
        "Délivré à l'intéressé(e) pour servir et valoir ce que de droit.",
    ]


def _nationality(holder_name: str, surname: str, rng: random.Random) -> Content:
    """Certificate of Moroccan nationality by filiation."""
    court_city = rng.choice(_CITIES[:12])
    father = f"{rng.choice(_FIRST_M)} {surname}"
    return {"basis": "filiation"}, [
        (f"Le Président du Tribunal de première instance de {court_city}, au vu des pièces produites, "
        "certifie que :"),
        "",
        f"Nom et prénom : {holder_name}",
        f"Né(e) le : {_birth(rng, 18, 75)}",
        f"Fils/Fille de : {father}, de nationalité marocaine",
        f"et de : {rng.choice(_FIRST_F)} {rng.choice(_LAST)}",
        f"Registre d'état civil : acte n° {rng.randint(100, 2999)}/{rng.randint(1950, 2007)}",
        "",
        ("est de nationalité marocaine d'origine par la filiation, en application de l'article 6 du "
        "Code de la nationalité marocaine (dahir n° 1-58-250 du 21 safar 1378 — 6 septembre 1958, "
        "tel que modifié par la loi n° 62-06)."),
        "",
        ("Le présent certificat est délivré à l'intéressé(e), sur sa demande, pour servir et valoir ce "
        "que de droit."),
    ]


def _school_report(holder_name: str, surname: str, rng: random.Random) -> Content:
    """A semester report: ten subjects with coefficients, the average, the rank and the council's decision."""
    year = rng.randint(2021, 2024)
    subjects = (("Mathématiques", 7), ("Physique-Chimie", 7), ("Sciences de la vie et de la Terre", 5),
                ("Langue arabe", 2), ("Langue française", 4), ("Langue anglaise", 2), ("Philosophie", 2),
                ("Éducation islamique", 2), ("Histoire-Géographie", 2), ("Éducation physique", 1))
    level = rng.uniform(9.5, 16.5)
    rows, total, coefs = [], 0.0, 0
    for name, coef in subjects:
        mark = max(3.0, min(20.0, round(rng.gauss(level, 2.2) * 4) / 4))
        rows.append(f"{name} | {coef} | {_fr_number(mark)} | {_appreciation(mark)}")
        total += mark * coef
        coefs += coef
    average = total / coefs
    size = rng.randint(28, 42)
    rank = max(1, min(size, round(size * (17.5 - average) / 9.5) + rng.randint(-2, 2)))
    if average >= 16:
        decision = "Félicitations du conseil de classe"
    elif average >= 14:
        decision = "Tableau d'honneur"
    elif average >= 12:
        decision = "Encouragements"
    elif average >= 10:
        decision = "Travail satisfaisant"
    else:
        decision = "Avertissement pour le travail"
    attrs = {"school_year": f"{year}-{year + 1}", "term": "Premier semestre",
             "average": f"{_fr_number(average)} / 20", "decision": decision}
    return attrs, [
        f"Établissement : {rng.choice(_SCHOOLS)}, {rng.choice(_CITIES[:10])}",
        "Niveau : 2e année du baccalauréat — Sciences physiques",
        f"Année scolaire : {year}-{year + 1} — Premier semestre",
        f"Code Massar : {_massar(rng)}",
        "",
        "Matière | Coefficient | Note / 20 | Appréciation",
        *rows,
        f"Moyenne du semestre : {_fr_number(average)} / 20",
        f"Rang : {rank} / {size}",
        f"Décision du conseil de classe : {decision}",
    ]


def _school_certificate(holder_name: str, surname: str, rng: random.Random) -> Content:
    """A certificate of enrolment for the school year."""
    year = rng.randint(2022, 2025)
    grade = rng.choice(("Tronc commun — Sciences", "1re année du baccalauréat — Sciences expérimentales",
                        "2e année du baccalauréat — Sciences mathématiques A",
                        "3e année du collège", "1re année du baccalauréat — Lettres et sciences humaines"))
    school = rng.choice(_SCHOOLS)
    city = rng.choice(_CITIES[:10])
    attrs = {"school": f"{school}, {city}", "school_year": f"{year}-{year + 1}", "class": grade}
    return attrs, [
        f"Le Directeur du {school}, {city}, certifie que l'élève :",
        "",
        f"Nom et prénom : {holder_name}",
        f"Né(e) le : {_birth(rng, 12, 19)}",
        f"Code Massar : {_massar(rng)}",
        f"Numéro d'inscription : {year}/{rng.randint(100, 1999):04d}",
        "",
        (f"est régulièrement inscrit(e) dans l'établissement au titre de l'année scolaire {year}-{year + 1}, "
        f"en classe de : {grade}."),
        "",
        ("Le présent certificat est délivré à l'intéressé(e), sur sa demande, pour servir et valoir ce que "
        "de droit."),
    ]


def _commerce_register(holder_name: str, surname: str, rng: random.Random) -> Content:
    """An extract of the trade register for a company the holder manages."""
    form, form_long, capital = rng.choice((
        ("SARL", "Société à responsabilité limitée", rng.choice((10_000, 50_000, 100_000, 300_000))),
        ("SARL AU", "Société à responsabilité limitée à associé unique", rng.choice((10_000, 100_000))),
        ("SA", "Société anonyme", rng.choice((300_000, 1_000_000, 5_000_000))),
    ))
    activity, word = rng.choice((
        ("Négoce de matériaux de construction", "Matériaux"), ("Import-export de produits agroalimentaires", "Agro"),
        ("Conseil en systèmes informatiques", "Digital"), ("Transport routier de marchandises", "Logistique"),
        ("Travaux divers et de construction", "Travaux"), ("Commerce de textiles et d'habillement", "Textile"),
    ))
    city = rng.choice(("Casablanca", "Rabat", "Tanger", "Marrakech", "Fès", "Agadir"))
    prefix = rng.choice(("Atlas", "Sahara", "Nour", "Al Amal", "Maghreb", surname))
    reg_year = rng.randint(2008, 2024)
    company, rc_number = f"{prefix.upper()} {word.upper()} {form}", f"{rng.randint(10_000, 599_999)} — {city}"
    attrs = {"company": company, "rc_number": rc_number, "legal_form": f"{form_long} ({form})"}
    return attrs, [
        f"Greffe du Tribunal de commerce de {city} — Registre central du commerce",
        "",
        "# Identification de la personne morale",
        f"Dénomination : {company}",
        f"Forme juridique : {form_long} ({form})",
        f"Numéro RC : {rc_number}",
        f"ICE : {rng.randint(0, 99_999_999_999_999):015d}",
        f"Identifiant fiscal : {rng.randint(10_000_000, 59_999_999)}",
        f"Capital social : {_fr_number(capital)} MAD",
        f"Siège social : {rng.randint(1, 250)}, {rng.choice(_STREETS)}, {city}",
        f"Activité principale : {activity}",
        f"Date d'immatriculation : {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{reg_year}",
        f"Gérant / représentant légal : {holder_name}",
        "",
        ("Aucune inscription modificative, de nantissement ou de radiation n'est portée au registre à la "
        "date de délivrance du présent certificat."),
    ]


_BODIES: dict[str, Callable[[str, str, random.Random], Content]] = {
    "criminal_record": _criminal_record,
    "nationality": _nationality,
    "school_report": _school_report,
    "school_certificate": _school_certificate,
    "commerce_register": _commerce_register,
}


def demo_content(doc_type: str, holder_name: str, rng: random.Random) -> Content:
    """The key-fact attributes (``wallet.catalogue.FACTS``) and the French body lines of a demo document of
    ``doc_type``, drawn together so the signed attributes say what the page says.

    Only ``rng`` supplies randomness: the same seed gives the same content.
    """
    parts = holder_name.split()
    surname = " ".join(parts[1:]) if len(parts) > 1 else (parts[0] if parts else "Alaoui")
    build = _BODIES.get(doc_type)
    if build is not None:
        return build(holder_name, surname, rng)
    return {}, [f"Le présent document est délivré à {holder_name} pour servir et valoir ce que de droit."]


def demo_body(doc_type: str, holder_name: str, rng: random.Random) -> list[str]:
    """Plausible French body lines for a demo document of ``doc_type`` (markup: see :mod:`wallet.demo.pdfkit.layout`).

    Only ``rng`` supplies randomness: the same seed gives the same lines (those of :func:`demo_content`).
    """
    return demo_content(doc_type, holder_name, rng)[1]
