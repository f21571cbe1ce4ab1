"""A tiny word-count CLI for Slipway's ci-targets example (standard library only)."""
from collections import Counter


def top_words(text, n=3):
    """The n most common words, most common first, ties in alphabetical order."""
    counts = Counter(w.strip(".,;:!?\"'()").lower() for w in text.split())
    counts.pop("", None)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
