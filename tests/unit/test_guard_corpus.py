"""The guardrail corpus: built by code, the same every time, and a held-out split that shares
no template and no filler phrase with the training split."""

from __future__ import annotations

import re

from scripts.guard_corpus import build
from scripts.guard_obfuscate import split_of
from scripts.guard_templates import ATTACKS, BENIGN, SLOTS
from tests.unit.test_guardrail_layers import corpus

LANGS = {"en", "pt", "es"}


def test_deterministic() -> None:
    assert [s.text for s in build()][:200] == [s.text for s in corpus()][:200]


def test_splits_share_no_template() -> None:
    by_split: dict[str, set[str]] = {"train": set(), "heldout": set()}
    for sample in corpus():
        by_split[sample.split].add(sample.template)
    assert not by_split["train"] & by_split["heldout"]
    texts = {s.text for s in corpus() if s.split == "train"}
    assert not any(s.text in texts for s in corpus() if s.split == "heldout")


def test_each_filler_and_template_has_one_split() -> None:
    """split_of is a pure function of the text, so no filler can serve both splits."""
    for lang in LANGS:
        for slot, values in {**SLOTS["any"], **SLOTS[lang]}.items():
            splits = {split_of(f"{slot}:{v}") for v in values}
            assert splits <= {"train", "heldout"}
    for families in (ATTACKS, BENIGN):
        for by_lang in families.values():
            for templates in by_lang.values():
                assert {split_of(t) for t in templates} <= {"train", "heldout"}


def test_held_out_fillers_are_unseen_in_training() -> None:
    """A verb filler of the held-out split ("scrap", ...) occurs in no training attack, unless
    a training template spells it out itself."""
    train = " ".join(s.text.casefold() for s in corpus()
                     if s.split == "train" and s.label == "malicious" and not s.obfuscations)
    templates = " ".join(t.casefold() for by_lang in ATTACKS.values()
                         for lang_templates in by_lang.values() for t in lang_templates
                         if split_of(t) == "train")
    checked = 0
    for lang in LANGS:
        for value in SLOTS[lang]["ov"]:
            word = rf"\b{re.escape(value.casefold())}\b"
            if split_of(f"ov:{value}") == "heldout" and not re.search(word, templates):
                assert not re.search(word, train), value
                checked += 1
    assert checked >= 10


def test_sizes_languages_and_hard_benign_families() -> None:
    samples = corpus()
    assert len(samples) > 10_000
    assert {s.lang for s in samples} == LANGS
    benign = " ".join(s.text for s in samples if s.label == "benign")
    for needle in ("HExécuteRequêteSQL", "Traceback", "SELECT", "system prompt", "ignore",
                   "rm -f", "/src/", "process.env", "prompt do sistema"):
        assert needle in benign, needle
    obfuscations = {o for s in samples for o in s.obfuscations}
    assert {"homoglyphs", "fullwidth", "invisible", "tags", "spaced", "split_lines",
            "leetspeak", "base64", "hex", "markdown", "roleplay", "embedded"} <= obfuscations
