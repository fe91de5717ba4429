"""Names for people and companies, drawn from a seeded `random.Random`.

Domains use the reserved `.example` top-level domain, so no generated address is anyone's.
"""

from __future__ import annotations

from random import Random

__all__ = ["SELLER_DOMAIN", "Names"]

SELLER_DOMAIN = "brightwave.example"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Anna Ben Carla David Elena Felix Greta Hugo Ines Jonas Karin Lukas Maria Nils Olivia "
    "Paul Rosa Simon Tara Umar Vera Walter Yara Zoe Aaron Bianca Chris Dana Emil Fatima Georg "
    "Hanna Ivan Julia Kai Laura Marco Nora Oscar Priya Quinn Rafael Sofia Tom Ulla Victor "
    "Wendy Xavier Yusuf Zara Amir Beatriz Chen Daria Erik Freya Gabriel Helena Isak Jana "
    "Kenji Lena Mateo Noah Omar Petra Rhea Sven Tessa"
)
LAST = _words(
    "Adler Baker Costa Dahl Eriksen Fischer Garcia Hansen Ito Jensen Keller Larsen Meyer "
    "Nagel Olsen Peters Quast Richter Schmidt Thomsen Ulrich Vogel Weber Xu Young Zimmer "
    "Andersen Berg Clarke Duarte Engel Fuchs Gruber Horvat Iversen Jung Kowalski Lindqvist "
    "Moreau Novak Ortiz Popescu Rossi Silva Tanaka Urban Varga Walsh Yilmaz Ziegler Brandt "
    "Cohen Dubois Evans Ferrari Greene Haas Ibsen Jovanovic Kim Lopez Murphy Nielsen"
)
COMPANY_A = _words(
    "North Blue Iron Silver Bright Clear Swift Green Red Stone Oak River Summit Nova Alpine "
    "Cedar Harbor Polar Delta Vertex Atlas Orbit Granite Maple Falcon Pine Crystal Golden "
    "Lunar Solar Copper Ember Vista Prime Tidal Arrow Beacon Crest Echo"
)
COMPANY_B = _words(
    "wind field works line point gate bridge stream forge peak wave port rock light path "
    "craft mark view land star"
)
COMPANY_C = _words(
    "Logistics Systems Labs Foods Health Energy Retail Capital Analytics Robotics Media "
    "Motors Pharma Textiles Insurance Telecom Software Materials Logistics Farms"
)
LEGAL = ("GmbH", "AG", "Ltd", "Inc", "BV", "AB", "SA", "Oy", "LLC", "plc")
INDUSTRIES = _words(
    "Technology Manufacturing Retail Healthcare Finance Logistics Energy Media Education "
    "Telecommunications Consulting Hospitality"
)
CITIES = (
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("Hamburg", "Germany"),
    ("Vienna", "Austria"),
    ("Zurich", "Switzerland"),
    ("Amsterdam", "Netherlands"),
    ("Stockholm", "Sweden"),
    ("Copenhagen", "Denmark"),
    ("Oslo", "Norway"),
    ("Helsinki", "Finland"),
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Paris", "France"),
    ("Lyon", "France"),
    ("Madrid", "Spain"),
    ("Lisbon", "Portugal"),
    ("Milan", "Italy"),
    ("Warsaw", "Poland"),
    ("Prague", "Czech Republic"),
)
TITLES_SENIOR = (
    "CFO",
    "COO",
    "CTO",
    "VP Operations",
    "VP Sales",
    "Head of IT",
    "Head of Procurement",
    "Managing Director",
)
TITLES = (
    "Operations Manager",
    "IT Manager",
    "Procurement Manager",
    "Project Lead",
    "Business Analyst",
    "Team Lead",
    "Office Manager",
    "Controller",
    "Sales Operations Manager",
    "Product Owner",
)


class Names:
    """Deterministic fake names; every call consumes the shared random stream in a fixed way."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng

    def _pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self._rng.random() * len(options))]

    def person(self) -> tuple[str, str]:
        return self._pick(FIRST), self._pick(LAST)

    def company(self, key: int) -> tuple[str, str]:
        """(name, domain); the key keeps domains unique."""
        a, b = self._pick(COMPANY_A), self._pick(COMPANY_B)
        kind, legal = self._pick(COMPANY_C), self._pick(LEGAL)
        stem = f"{a}{b}"
        return f"{stem} {kind} {legal}", f"{stem.lower()}-{kind.lower()}-{key}.example"

    def industry(self) -> str:
        return self._pick(INDUSTRIES)

    def city(self) -> tuple[str, str]:
        return CITIES[int(self._rng.random() * len(CITIES))]

    def title(self, senior: bool) -> str:
        return self._pick(TITLES_SENIOR if senior else TITLES)

    def phone(self) -> str:
        digits = int(self._rng.random() * 10**9)
        return f"+49 30 {digits:09d}"

    @staticmethod
    def email(first: str, last: str, domain: str) -> str:
        return f"{first}.{last}@{domain}".lower()
