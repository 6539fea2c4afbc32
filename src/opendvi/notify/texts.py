"""The words of a notification, drafted from templates in the contact's language.

Two templates: *words* for telling the family in person or by phone (plain words, what
happens next), and *message* for a letter or an e-mail, which never carries the news itself:
it asks the family to meet or call. Translations are gettext catalogues (``locales/LANG/
LC_MESSAGES/opendvi.po``) read with Babel; a draft is always edited by a person and
approved by a second one before anything is used.
"""

from __future__ import annotations

import functools
import gettext
import io
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "Draft", "direction", "draft", "language_of"]

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
}
RIGHT_TO_LEFT = {"ar", "fa", "he", "ur", "ps", "ckb"}


def N_(text: str) -> str:  # the gettext marker: translated where used, not here
    return text


# -- the templates (English is the source; the catalogues translate each line) ---------------

SUBJECT = N_("About {missing_name}")
MESSAGE = (
    N_("Dear {contact_name},"),
    N_(
        "You reported {missing_name} missing. We have news about {missing_name} that we "
        "would like to tell you in person, not in writing."
    ),
    N_(
        "Please contact us so that we can agree on a time and a place that suit you. You "
        "may bring someone you trust."
    ),
    N_("You can reach {team} at {team_phone}."),
    N_("If you would rather we did not write to you again, tell us and we will respect it."),
    N_("With respect,"),
)
WORDS = (
    N_("What to say to {contact_name}"),
    N_(
        "First make sure that you are speaking with {contact_name}, who reported "
        "{missing_name} missing, and that they are ready to talk. Sit down with them."
    ),
    N_(
        "We have very sad news. {missing_name} has died. We have identified the remains "
        "of {missing_name}."
    ),
    N_("The identification rests on {method}. Two specialists confirmed it."),
    N_(
        "What happens next: the return of the remains to the family, the documents the "
        "family will need, and the support that is offered."
    ),
    N_(
        "Give time for questions. Do not show photos. If the family asks to see them, "
        "record the request: they are shown by staff, with a warning, never sent."
    ),
    N_("{team} can be reached at {team_phone}."),
)
METHODS = {
    "dna": N_("a DNA comparison"),
    "fingerprints": N_("a comparison of fingerprints"),
    "dental": N_("a comparison of dental records"),
    "secondary": N_("several independent pieces of evidence that agree"),
}
AND = N_(" and ")


def language_of(code: str) -> str:
    """The template language for a contact's language code (``uk-UA`` → ``uk``)."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else "en"


def direction(code: str) -> str:
    """``rtl`` for a language written right to left, else ``ltr``."""
    return "rtl" if code.strip().lower().replace("_", "-").split("-")[0] in RIGHT_TO_LEFT else "ltr"


@functools.cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The language's translations, compiled in memory from its ``.po`` catalogue."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALES / language / "LC_MESSAGES" / "opendvi.po"
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(source, locale=language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@dataclass(frozen=True)
class Draft:
    language: str
    direction: str
    subject: str
    text: str
    note: str  # for staff: e.g. no template in the contact's language


def _fill(line: str, values: dict[str, str]) -> str:
    """A template line filled in; a value that ends with a full stop (a name with an
    initial, "Andrii O.") ends the sentence too, without a second one."""
    filled = line.format(**values)
    for value in values.values():
        if value.endswith("."):
            filled = filled.replace(value + ".", value)
    return filled


def draft(
    kind: str,
    *,
    language: str,
    contact_name: str,
    missing_name: str,
    method: str,
    team: str,
    team_phone: str,
) -> Draft:
    """The template ``kind`` (``message`` or ``words``) filled in, in ``language``."""
    wanted = language_of(language)
    _ = catalogue(wanted).gettext
    parts = ["secondary"] if method.startswith("secondary:") else method.split("+")
    how = [_(METHODS[part]) for part in parts if part in METHODS]
    values = {
        "contact_name": contact_name,
        "missing_name": missing_name,
        "method": _(AND).join(how),
        "team": team,
        "team_phone": team_phone,
    }
    template = MESSAGE if kind == "message" else WORDS
    # Without a phone number, the line that gives it is left out (not filled with a dash).
    lines = [
        _fill(_(line), values) for line in template if team_phone or "{team_phone}" not in line
    ]
    if kind == "message":
        lines.append(team)
    note = ""
    if language and language_of(language) == "en" and not language.lower().startswith("en"):
        note = (
            f"There is no template in {language!r}; this draft is in English. Have it "
            "translated before it is approved."
        )
    return Draft(
        language=wanted,
        direction=direction(wanted),
        subject=_(SUBJECT).format(**values) if kind == "message" else "",
        text="\n\n".join(lines),
        note=note,
    )
