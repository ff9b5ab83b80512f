"""The guardrail's own corpus: malicious and benign messages in Portuguese, English and Spanish,
built from templates by slot fillers by obfuscations, with a held-out split.

Every template and every slot filler belongs to one split only (chosen by a hash of its text),
so a held-out message shares no template and no filler phrase with any training message: the
held-out figures measure generalisation, not memory.

    .venv/bin/python -m scripts.guard_corpus --out corpus/   # writes train.jsonl, heldout.jsonl
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from scripts.guard_obfuscate import OBFUSCATIONS, obfuscate, split_of
from scripts.guard_templates import ATTACKS, BENIGN, SLOTS

__all__ = ["Sample", "build", "split_of"]

SEED = 14
PER_ATTACK_TEMPLATE = 14
PER_BENIGN_TEMPLATE = 24
_SLOT = re.compile("«(\\w+)»")  # «slot»: code snippets are full of braces


@dataclass
class Sample:
    """One message of the corpus."""

    text: str
    label: str  # "malicious" | "benign"
    category: str  # the attack's rule family, or the benign family
    lang: str
    template: str  # id: category/lang/index
    split: str  # "train" | "heldout"
    obfuscations: list[str] = field(default_factory=list)
    payload: str | None = None  # the attack inside a benign carrier, when embedded


def _fillers(lang: str, split: str) -> dict[str, list[str]]:
    """The slot values of one language in one split (each slot keeps at least one value)."""
    chosen: dict[str, list[str]] = {}
    for slot, values in {**SLOTS["any"], **SLOTS[lang]}.items():
        kept = [v for v in values if split_of(f"{slot}:{v}") == split]
        chosen[slot] = kept or [values[0] if split == "train" else values[-1]]
    return chosen


def _expand(template: str, fillers: dict[str, list[str]], rng: random.Random) -> str:
    return _SLOT.sub(lambda m: _expand(rng.choice(fillers[m.group(1)]), fillers, rng), template)


def _fill(template: str, fillers: dict[str, list[str]], rng: random.Random) -> str:
    text = re.sub(r"(?<=\S) {2,}", " ", _expand(template, fillers, rng)).strip()
    text = re.sub(r" ([.,;:?!])", r"\1", text)
    return text[:1].upper() + text[1:] if rng.random() < 0.7 else text


def _attacks(rng: random.Random) -> Iterator[Sample]:
    for category, by_lang in ATTACKS.items():
        for lang, templates in by_lang.items():
            for index, template in enumerate(templates):
                split = split_of(template)
                fillers = _fillers(lang, split)
                for _ in range(PER_ATTACK_TEMPLATE):
                    base = _fill(f"{template}«close»", fillers, rng)
                    text, used, payload = obfuscate(base, rng, lang=lang, category=category,
                                                    split=split, malicious=True)
                    yield Sample(text, "malicious", category, lang,
                                 f"{category}/{lang}/{index}", split, used, payload)


def _benign(rng: random.Random) -> Iterator[Sample]:
    for family, by_lang in BENIGN.items():
        for lang, templates in by_lang.items():
            for index, template in enumerate(templates):
                split = split_of(template)
                fillers = _fillers(lang, split)
                seen: set[str] = set()
                for _ in range(PER_BENIGN_TEMPLATE * 3):
                    base = _fill(f"«open»{template}«close»", fillers, rng)
                    text, used, _ = obfuscate(base, rng, lang=lang, category=family,
                                              split=split, malicious=False)
                    if text in seen:
                        continue
                    seen.add(text)
                    yield Sample(text, "benign", family, lang, f"{family}/{lang}/{index}",
                                 split, used)
                    if len(seen) >= PER_BENIGN_TEMPLATE:
                        break


def build(seed: int = SEED) -> list[Sample]:
    """The whole corpus, the same for the same seed."""
    rng = random.Random(seed)
    return [*_attacks(rng), *_benign(rng)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the JSONL files")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    samples = build(args.seed)
    for split in ("train", "heldout"):
        rows = [asdict(s) for s in samples if s.split == split]
        with (args.out / f"{split}.jsonl").open("wb") as out:
            out.writelines(orjson.dumps(row) + b"\n" for row in rows)
        print(f"{split}: {len(rows)} messages -> {args.out / f'{split}.jsonl'}")
    print("obfuscations:", ", ".join(OBFUSCATIONS))


if __name__ == "__main__":
    main()
