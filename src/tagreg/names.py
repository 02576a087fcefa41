"""Close names: the "did you mean 'churn'?" of a mistyped artifact or stage name.

Pure functions over names the caller already has (no I/O). Reads that find nothing use
`close_names` (an error anyway, so a loose match helps); writes that create a new name use
`typos_of`, stricter, since their warning must not nag about names that are meant.
"""

from __future__ import annotations

from collections.abc import Iterable

CUTOFF = 0.6  # difflib's get_close_matches default: 'chrun'~'churn' 0.8, 'prdo'~'prod' 0.75
MOST = 3  # names offered at most
LONGEST = 100  # characters of a name offered (a hostile registry's names are any length)
DIGITS = frozenset("0123456789")


def _ratio(a: str, b: str) -> float:
    """difflib's similarity of a and b (0 when its upper bound, the letters they share, is below CUTOFF)."""
    total = len(a) + len(b)
    if 2 * min(len(a), len(b)) < CUTOFF * total:
        return 0.0
    if 2 * sum(min(a.count(c), b.count(c)) for c in set(a)) < CUTOFF * total:
        return 0.0  # difflib's quick_ratio: most new names are near none, and need no difflib
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b).ratio()


def close_names(word: str, known: Iterable[str], most: int = MOST) -> list[str]:
    """The names of known closest to word (case-insensitive, as difflib.get_close_matches), best
    first, never word itself. A monorepo name `dir:name` is also compared by its name part, so
    `clf` finds `dir/sub:clf`."""
    lower = word.lower()
    part = lower.rpartition(":")[2]
    scored = []
    for name in dict.fromkeys(known):
        if name == word:
            continue
        other = name.lower()
        score = _ratio(lower, other)
        if ":" in lower or ":" in other:
            score = max(score, _ratio(part, other.rpartition(":")[2]))
        if score >= CUTOFF:
            scored.append((-score, name))
    return [name for _, name in sorted(scored)[:most]]


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that make a into b."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]


def _digits_apart(a: str, b: str) -> bool:
    """Whether a and b differ in digits only (`model2`, `resnet50`: another one, meant)."""
    return [c for c in a if c not in DIGITS] == [c for c in b if c not in DIGITS]


def typos_of(word: str, known: Iterable[str]) -> list[str]:
    """The names of known that word looks like a typo of: one or two slips of the keyboard (one
    in names under 8 characters) or another case, not another digit (`model2` next to `model`)
    or an added part (`churn-xgb` next to `churn`)."""
    found = []
    for name in close_names(word, known):
        a, b = word.lower(), name.lower()
        if a == b or (_distance(a, b) <= (1 if min(len(a), len(b)) < 8 else 2) and not _digits_apart(a, b)):
            found.append(name)
    return found


def did_you_mean(names: list[str]) -> str:
    """`; did you mean 'a'?` (or `'a' or 'b'?`) to end a message with; empty for no names."""
    if not names:
        return ""
    quoted = [f"'{name}'" if len(name) <= LONGEST else f"'{name[:LONGEST]}...'" for name in names]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {listed}?"
