"""Readable random run names (``bold-otter-417``), as MLflow gives runs without a name."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast",
    "gentle", "glad", "grand", "honest", "keen", "kind", "lively", "lucky", "merry", "neat",
    "noble", "polite", "proud", "quick", "quiet", "rare", "sharp", "shy", "smooth", "steady",
    "sunny", "swift", "tidy", "warm", "wise", "witty",
)  # fmt: skip
_NOUNS = (
    "ant", "bat", "bear", "bee", "cat", "crab", "crane", "deer", "dove", "eel", "elk", "finch",
    "fox", "frog", "goat", "hare", "hawk", "heron", "ibis", "lark", "lynx", "mole", "moth",
    "newt", "otter", "owl", "panda", "ram", "seal", "snail", "swan", "toad", "trout", "wolf",
    "wren", "yak",
)  # fmt: skip


def random_run_name() -> str:
    rng = random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(100, 999)}"
