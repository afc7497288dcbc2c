"""Build Podium's price table from the LiteLLM price file (the source ccusage also uses).

    python -m podium.usage.price_gen --from litellm-X.whl|prices.json [--out FILE] [--date D]

The `litellm` wheel ships the file as `litellm/model_prices_and_context_window_backup.json`
(a wheel is read directly; litellm is never imported or installed). Kept:

- Anthropic models (every `claude-*` id): first-party entries first; a model LiteLLM lists only
  on Bedrock or Vertex (retired ones such as `claude-sonnet-4-20250514`) comes from the
  cloud entry without a region (`anthropic.…`), else a `us.`/`global.` one, else Vertex.
  Resellers (Azure AI, Databricks, OpenRouter, …) are never used: their prices are their own.
- OpenAI chat/responses models (not fine-tunes, not audio) and Gemini chat models, for the
  other usage sources.
- Prices per million tokens: input, output, 5-minute and 1-hour cache writes, cache reads, and
  a long-context tier (`*_above_<N>k_tokens`) with its threshold where the source has one.
- Dated and `*-latest` ids as aliases of the model they price the same as.

A supplement file (`podium/data/prices_supplement.json`) fills only what the source lacks,
each number with where it came from; the source always wins where it has a value.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import zipfile
from datetime import UTC, datetime

LITELLM_MEMBER = "litellm/model_prices_and_context_window_backup.json"
LITELLM_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
SUPPLEMENT = os.path.join(DATA_DIR, "prices_supplement.json")
FORMAT = 2

#: Podium's rate names ← LiteLLM's per-token field names (the base tier)
RATE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cacheWrite5m": "cache_creation_input_token_cost",
    "cacheWrite1h": "cache_creation_input_token_cost_above_1hr",
    "cacheRead": "cache_read_input_token_cost",
}
#: the same for a long-context tier; `{n}` is the threshold in thousands of tokens
TIER_FIELDS = {
    "input": "input_cost_per_token_above_{n}k_tokens",
    "output": "output_cost_per_token_above_{n}k_tokens",
    "cacheWrite5m": "cache_creation_input_token_cost_above_{n}k_tokens",
    "cacheWrite1h": "cache_creation_input_token_cost_above_1hr_above_{n}k_tokens",
    "cacheRead": "cache_read_input_token_cost_above_{n}k_tokens",
}
_TIER_KEY = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")

# Where an Anthropic model's price may come from, best first (lower rank wins).
_ANTHROPIC_SOURCES = (
    (0, re.compile(r"^(claude-[a-z0-9.-]+)$"), {"anthropic"}),
    (1, re.compile(r"^anthropic\.(claude-[a-z0-9.-]+?)(?:-v\d+:\d+)?$"),
     {"bedrock", "bedrock_converse"}),
    (2, re.compile(r"^(?:us|global)\.anthropic\.(claude-[a-z0-9.-]+?)(?:-v\d+:\d+)?$"),
     {"bedrock", "bedrock_converse"}),
    (3, re.compile(r"^vertex_ai/(claude-[a-z0-9.-]+?)(?:@[0-9a-z]+)?$"),
     {"vertex_ai-anthropic_models"}),
)  # fmt: skip
_DATE = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")
_OPENAI_SKIP = re.compile(r"^ft:|audio|realtime|transcribe|tts|image|/")
_GEMINI = re.compile(r"^(?:gemini/)?(gemini-[a-z0-9.-]+)$")


class SourceError(ValueError):
    """The input is not a LiteLLM price file (or a wheel holding one)."""


def read_source(path: str) -> tuple[dict, dict]:
    """The LiteLLM price data in a `.json` file or a `litellm` wheel, and a description of it
    (file name, package version when known, sha256) for the table's `source` record."""
    path = os.path.expanduser(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as wheel:
                try:
                    raw = wheel.read(LITELLM_MEMBER)
                except KeyError as exc:
                    raise SourceError(f"{path}: no {LITELLM_MEMBER} in this archive") from exc
            match = re.match(r"litellm-([^-]+)-", os.path.basename(path))
            origin = f"litellm {match.group(1)} wheel" if match else os.path.basename(path)
            member = LITELLM_MEMBER
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
            origin, member = os.path.basename(path), None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_source(raw, origin, member)


def parse_source(raw: bytes, origin: str, member: str | None = None) -> tuple[dict, dict]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SourceError(f"{origin}: not JSON ({exc})") from exc
    if type(data) is not dict or not any(
        type(v) is dict and "input_cost_per_token" in v for v in data.values()
    ):
        raise SourceError(f"{origin}: not a LiteLLM price file (no input_cost_per_token)")
    info = {"name": "LiteLLM model_prices_and_context_window.json", "from": origin,
            "sha256": hashlib.sha256(raw).hexdigest()}  # fmt: skip
    if member:
        info["member"] = member
    return data, info


def _per_million(value: object) -> float | None:
    number = value if type(value) is int or type(value) is float else None  # a bool is none
    if number is None or number != number or number < 0:  # NaN, negatives
        return None
    return round(float(number) * 1_000_000, 6)


def rates_of(entry: dict) -> dict | None:
    """Podium's rates (USD per million tokens) from one LiteLLM entry; None without both
    input and output prices."""
    out: dict = {}
    for name, field in RATE_FIELDS.items():
        value = _per_million(entry.get(field))
        if value is not None:
            out[name] = value
    if "input" not in out or "output" not in out:
        return None
    thresholds = sorted(int(m.group(1)) for k in entry if (m := _TIER_KEY.match(k)))
    for n in thresholds[:1]:  # the first tier; none of the kept models has two
        tier: dict[str, float] = {"thresholdInputTokens": n * 1000}
        for name, field in TIER_FIELDS.items():
            value = _per_million(entry.get(field.format(n=n)))
            if value is not None:
                tier[name] = value
        premium = any(tier[k] != out.get(k) for k in tier if k != "thresholdInputTokens")
        if "input" in tier and "output" in tier and premium:  # a tier that changes a price
            out["longContext"] = tier
    return out


def _base_name(name: str) -> str:
    """`claude-opus-4-5-20251101` → `claude-opus-4-5`; `claude-opus-4-6-v1` → `claude-opus-4-6`."""
    name = _DATE.sub("", name)
    stripped = re.sub(r"-v\d+$", "", name)
    return stripped if stripped[-1:].isdigit() else name


def _candidates(data: dict) -> dict[str, list[tuple]]:
    """Model name → [(sort key, LiteLLM key, id as written, rates)] for every kept family.
    Anthropic ids are grouped under their undated name; others under their own id."""
    found: dict[str, list[tuple]] = {}

    def add(group: str, rank: int, key: str, name: str, entry: dict) -> None:
        rates = rates_of(entry)
        if rates is None:
            return
        date = re.sub(r"\D", "", name[len(_DATE.sub("", name)):]) or "0"
        # best source first; then the undated id; then the newest date
        order = (rank, name != group, -int(date), key)
        found.setdefault(group, []).append((order, key, name, rates))

    for key, entry in data.items():
        if type(entry) is not dict:
            continue
        provider = entry.get("litellm_provider")
        mode = entry.get("mode")
        for rank, pattern, providers in _ANTHROPIC_SOURCES:
            m = pattern.match(key)
            if m and provider in providers:
                add(_base_name(m.group(1)), rank, key, m.group(1), entry)
                break
        if provider == "openai" and mode in ("chat", "responses") and not _OPENAI_SKIP.search(key):
            add(key, 0, key, key, entry)
        m = _GEMINI.match(key)
        if m and mode == "chat" and provider in ("gemini", "vertex_ai-language-models"):
            add(m.group(1), 0 if provider == "gemini" else 1, key, m.group(1), entry)
    return found


def convert(data: dict, source: dict, *, supplement: dict | None = None,
            date: str | None = None) -> dict:  # fmt: skip
    """The Podium price table (format 2) for LiteLLM data."""
    models: dict[str, dict] = {}
    origins: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for group, cands in _candidates(data).items():
        cands.sort(key=lambda c: c[0])
        _, key, chosen, rates = cands[0]
        models[group], origins[group] = rates, key
        if chosen != group:
            aliases[chosen] = group
        for order, other_key, name, other in cands[1:]:
            if name == group or name in models:
                continue
            if other == rates:
                aliases[name] = group  # a dated id Claude Code may write
            elif order[0] == 0:  # a first-party dated id with a price of its own
                models[name], origins[name] = other, other_key
    # a dated OpenAI/Gemini id priced like its undated model is an alias of it
    for name in sorted(models):
        base = _DATE.sub("", name)
        if base != name and base in models and models[base] == models[name]:
            aliases[name] = base
            del models[name], origins[name]
    for key, entry in data.items():  # LiteLLM's own aliases (`claude-opus-latest`)
        target = entry.get("alias_of") if type(entry) is dict else None
        if type(target) is str and target in models and key not in models:
            aliases[key] = target
    aliases = {a: t for a, t in aliases.items() if a not in models}
    supplemented = _apply_supplement(models, aliases, supplement or {})
    today = date or datetime.now(UTC).strftime("%Y-%m-%d")
    table = {
        "format": FORMAT,
        "version": today,
        "source": {**source, "date": today},
        "note": "GENERATED by `python -m podium.usage.price_gen` from the LiteLLM price file; "
        "do not edit (fix the supplement or the generator). USD per million tokens. Model ids "
        "are matched exactly after provider prefixes, Bedrock/Vertex suffixes and dates are "
        "stripped. A user file (--prices, $PODIUM_PRICES, or `podium prices update`) overrides "
        "models by name.",
        "longContext": {"thresholdInputTokens": 200_000, "rule": "whole-request"},
        "models": {name: models[name] for name in sorted(models)},
        "aliases": {name: aliases[name] for name in sorted(aliases)},
        "origins": {name: origins.get(name, "supplement") for name in sorted(models)},
    }
    if supplemented:
        table["supplemented"] = supplemented
    return table


def _apply_supplement(models: dict, aliases: dict, supplement: dict) -> dict[str, list[str]]:
    """Fill what the source lacks from the supplement; returns model → fields filled."""
    filled: dict[str, list[str]] = {}
    for name, extra in (supplement.get("models") or {}).items():
        rates = {k: float(v) for k, v in extra.items() if k in RATE_FIELDS}
        if name in aliases:
            continue
        if name not in models:
            if "input" not in rates or "output" not in rates:
                continue  # it fills gaps of a model this source does not have
            models[name] = {}
        model = models[name]
        added = [k for k in RATE_FIELDS if k in rates and k not in model]
        model.update({k: rates[k] for k in added})
        tier, extra_tier = model.get("longContext"), extra.get("longContext") or {}
        if tier is not None:
            more = [k for k in RATE_FIELDS if k in extra_tier and k not in tier]
            tier.update({k: float(extra_tier[k]) for k in more})
            added += [f"longContext.{k}" for k in more]
        models[name] = {k: model[k] for k in (*RATE_FIELDS, "longContext") if k in model}
        if added:
            filled[name] = added
    return filled


def load_supplement(path: str | None = SUPPLEMENT) -> dict | None:
    if not path:
        return None
    with open(path, "rb") as fh:
        return json.loads(fh.read())


def dumps(table: dict) -> str:
    """One model per line, so a regenerated table diffs readably."""
    lines = ["{"]
    items = list(table.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("models", "aliases", "origins", "supplemented") and value:
            lines.append(f"  {json.dumps(key)}: {{")
            inner = list(value.items())
            for j, (k, v) in enumerate(inner):
                sep = "," if j < len(inner) - 1 else ""
                lines.append(f"    {json.dumps(k)}: {json.dumps(v, sort_keys=False)}{sep}")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_table(table: dict, out: str) -> None:
    """Atomically (a reader never sees half a table)."""
    out = os.path.expanduser(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(dumps(table))
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podium.usage.price_gen",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--from", dest="source", required=True,
                        help="LiteLLM price JSON, or a litellm wheel (.whl)")  # fmt: skip
    parser.add_argument("--out", default=os.path.join(DATA_DIR, "prices.json"))
    parser.add_argument("--supplement", default=SUPPLEMENT, help="'' for none")
    parser.add_argument("--date", help="snapshot date (default: today, UTC)")
    args = parser.parse_args(argv)
    try:
        data, info = read_source(args.source)
        table = convert(data, info, supplement=load_supplement(args.supplement),
                        date=args.date)  # fmt: skip
    except (SourceError, OSError, ValueError) as exc:
        print(f"price_gen: {exc}", file=sys.stderr)
        return 1
    write_table(table, args.out)
    print(f"wrote {args.out}: {len(table['models'])} models, {len(table['aliases'])} aliases "
          f"from {info['from']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
