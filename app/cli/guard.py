"""`wxrunner guard check FILE`: the input guardrail over JSON lines, for tuning the rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import typer

guard_cli = typer.Typer(no_args_is_help=True, help="The input guardrail")

_MALICIOUS = {"malicious", "attack", "block", "blocked", "1", "true"}
_BENIGN = {"benign", "allow", "allowed", "0", "false"}


def register(cli: typer.Typer) -> None:
    cli.add_typer(guard_cli, name="guard")


@guard_cli.command("check")
def check(
    file: str = typer.Argument(..., help="JSON lines with a `text` field, or - for stdin"),
) -> None:
    """One JSON line per input (blocked, rule, normalized, score), then a summary line.

    With a `label` field (malicious/benign) on the inputs, the summary adds the block rate,
    the false-positive rate, precision and recall. The deployment's settings apply
    (WX_GUARDRAIL_DISABLED_RULES, WX_GUARDRAIL_EXTRA_PATTERNS, the classifier threshold)."""
    import sys

    from app.guardrail import Guardrail
    from app.settings import get_settings

    guardrail = Guardrail(get_settings())
    source = sys.stdin.buffer if file == "-" else _open(file)
    try:
        for line in check_lines(guardrail, source):
            sys.stdout.buffer.write(line + b"\n")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def _open(file: str) -> Any:
    try:
        return open(file, "rb")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}") from exc


def check_lines(guardrail: Any, lines: Iterable[bytes]) -> Iterator[bytes]:
    """The output lines for these input lines; ValueError names a bad input line."""
    import orjson

    summary = _Summary()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        text, label = _parse(raw, number)
        result = guardrail.check(text)
        summary.add(result.rule, label)
        out: dict[str, Any] = {"blocked": result.blocked, "rule": result.rule,
                               "normalized": result.views.canonical,
                               "score": round(result.score, 4)}
        if result.views.extra:
            out["decoded"] = list(result.views.extra)
        if label is not None:
            out["label"] = label
        yield orjson.dumps(out)
    yield orjson.dumps({"summary": summary.report()})


def _parse(raw: bytes, number: int) -> tuple[str, str | None]:
    import orjson

    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not JSON ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f"line {number}: needs a string field `text`")
    label = record.get("label")
    if label is None:
        return record["text"], None
    word = str(label).lower()
    if word not in _MALICIOUS | _BENIGN:
        raise ValueError(f"line {number}: label must be malicious or benign, not {label!r}")
    return record["text"], "malicious" if word in _MALICIOUS else "benign"


class _Summary:
    def __init__(self) -> None:
        self.inputs = 0
        self.by_rule: Counter[str] = Counter()
        self.confusion: Counter[tuple[str, bool]] = Counter()

    def add(self, rule: str | None, label: str | None) -> None:
        self.inputs += 1
        if rule is not None:
            self.by_rule[rule] += 1
        if label is not None:
            self.confusion[(label, rule is not None)] += 1

    def report(self) -> dict[str, Any]:
        blocked = sum(self.by_rule.values())
        report: dict[str, Any] = {"inputs": self.inputs, "blocked": blocked,
                                  "by_rule": dict(self.by_rule.most_common())}
        if self.confusion:
            tp, fn = self.confusion[("malicious", True)], self.confusion[("malicious", False)]
            fp, tn = self.confusion[("benign", True)], self.confusion[("benign", False)]
            report.update(
                malicious=tp + fn, benign=fp + tn, true_positives=tp, false_negatives=fn,
                false_positives=fp, true_negatives=tn,
                block_rate=_ratio(tp, tp + fn), false_positive_rate=_ratio(fp, fp + tn),
                precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn))
        return report


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
