"""Counted nouns as people read them: "1 source", "2 sources", "0 deliveries", never "source(s)".

    count(n, noun)   "1 warning", "3 warnings", "0 deliveries", "2 snoozes" (the noun's plural unless n is 1)
    noun(n, word)    the word alone, in the number n asks for: "no row for product tools", "... products a, b"

Both take the plural when English does not make it by rule (`count(2, "person", "people")`). The domain and the
faces (CLI, web, messages, whose Jinja2 environments register `count` as a filter) share it: standard library only.
"""


def plural(word: str) -> str:
    """`source` -> `sources`, `delivery` -> `deliveries`, `snooze` -> `snoozes`, `match` -> `matches`, `day` ->
    `days`; the last word of a phrase (`release-notes page` -> `release-notes pages`)."""
    if word.endswith("y") and word[-2:-1].lower() not in ("a", "e", "i", "o", "u", ""):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def noun(n: int, word: str, plural_form: str | None = None) -> str:
    return word if n == 1 else plural_form or plural(word)


def count(n: int, word: str, plural_form: str | None = None) -> str:
    return f"{n} {noun(n, word, plural_form)}"
