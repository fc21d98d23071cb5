"""Password policy after NIST SP 800-63B (5.1.1.2) and OWASP ASVS 4.0.3 V2.1.

What is checked: a minimum length (12, ASVS V2.1.1); that the password is not in a list of
passwords from breach corpora; and that it is not otherwise guessable (repeated or
sequential characters, keyboard walks, dictionary words with digits appended, or built from
the user's own name or the service's name). What is *not* imposed: composition rules
(upper case, digits, symbols), which 800-63B advises against (ASVS V2.1.9).

The breached list and the guessability estimate come from zxcvbn (Dropbox's estimator, the
Python port on PyPI). Its "passwords" frequency list holds the 30,000 most common passwords
of the Xato corpus of leaked passwords, shipped inside the package: no network call is made.
"""

from __future__ import annotations

import re
from functools import cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12  # OWASP ASVS 4.0.3 V2.1.1
MAX_LENGTH = 128  # ASVS V2.1.2 asks that at least 64 be allowed; longer is only slower
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attack"
SERVICE_WORDS = ("bontrack", "botox", "botulinum", "clinic")


@cache
def breached() -> frozenset[str]:
    """The bundled list of breached passwords, lower-cased."""
    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *context: str | None) -> str | None:
    """Why ``password`` may not be used, in words for the person choosing it, or None.

    ``context`` holds the user's own words (username, display name) that the password must
    not be built from.
    """
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters"
    if password.lower() in breached() or password.strip().lower() in breached():
        return "this password appears in lists of breached passwords; choose another"
    words = _words(*context, *SERVICE_WORDS)
    rest = re.sub(r"[\W_]+", "", password.lower())
    for word in sorted(words, key=len, reverse=True):
        rest = rest.replace(word, "")
    if len(rest) < 6:
        return "this password is built from your name or this service's name; choose another"
    verdict = zxcvbn(password, user_inputs=words)
    if verdict["score"] < MIN_SCORE:
        hint = verdict["feedback"].get("warning") or "it is easy to guess"
        return (f"this password is too easy to guess ({hint.rstrip('.').lower()}); a few "
                "unrelated words make a strong one")
    return None


def _words(*texts: str | None) -> list[str]:
    """The words of a name (``dr.okafor`` gives ``okafor``), lower-cased, 3 letters or more."""
    return sorted({w for t in texts if t for w in re.split(r"[\W_]+", t.lower()) if len(w) >= 3})
