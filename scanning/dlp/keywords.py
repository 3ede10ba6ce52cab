"""Every occurrence of a set of words in a text, in one pass: an Aho-Corasick automaton.

The automaton is built here; it runs in C (``_keywords``, built by pip
install) when the extension is there, else a regular expression of the same
words does the work (slower on text with many letters). ``IMPLEMENTATION``
says which (the DLP benchmark prints it).
"""

from __future__ import annotations

import re
from collections import deque

try:
    from ._keywords import Automaton
    IMPLEMENTATION = "C"
except ImportError:  # no compiler at install time
    Automaton = None
    IMPLEMENTATION = "Python"


class WordFinder:
    def __init__(self, words: list[str]):
        self.words = list(words)
        self._automaton = _build(self.words) if Automaton is not None else None
        self._regex = None if self._automaton is not None else re.compile(
            "|".join(re.escape(w) for w in sorted(self.words, key=len, reverse=True)))

    def find(self, text: str) -> list[tuple[int, str]]:
        """(start, word) for every occurrence, overlapping ones included when the automaton runs."""
        if self._automaton is not None:
            words = self.words
            return [(end - len(words[i]), words[i]) for end, i in self._automaton.find(text)]
        return [(m.start(), m.group()) for m in self._regex.finditer(text)]


def _build(words: list[str]):
    children: list[dict[str, int]] = [{}]
    out = [-1]
    for index, word in enumerate(words):
        node = 0
        for ch in word:
            nxt = children[node].get(ch)
            if nxt is None:
                nxt = len(children)
                children[node][ch] = nxt
                children.append({})
                out.append(-1)
            node = nxt
        out[node] = index
    fail = [0] * len(children)
    out_link = [-1] * len(children)
    queue = deque(children[0].values())
    while queue:
        node = queue.popleft()
        for ch, child in children[node].items():
            f = fail[node]
            while f and ch not in children[f]:
                f = fail[f]
            fail[child] = children[f].get(ch, 0) if children[f].get(ch, 0) != child else 0
            target = fail[child]
            out_link[child] = target if out[target] >= 0 else out_link[target]
            queue.append(child)
    starts, counts, cps, tos = [], [], [], []
    for node in children:
        starts.append(len(cps))
        counts.append(len(node))
        for ch, child in sorted(node.items()):
            cps.append(ord(ch))
            tos.append(child)
    return Automaton(starts, counts, cps, tos, fail, out, out_link)
