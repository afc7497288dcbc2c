"""`podium prices`: the price table in use, and `podium prices update` to rebuild the user's
table from LiteLLM's price file (offline from a file, or `--fetch`: the one download Podium
makes besides the opt-in OAuth plan lookup)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the prices CLI imports pricing only when it runs
    from podium.usage.pricing import PriceTable, Rates

FETCH_LIMIT = 64 << 20  # the LiteLLM file is ~3.5 MB; anything this big is not it


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prices", help="a price table to show instead of the one in use")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model", action="append", default=[], metavar="ID",
                        help="show the price this model id resolves to (repeatable)")  # fmt: skip
    sub = parser.add_subparsers(dest="action", metavar="update")
    update = sub.add_parser("update", help="rebuild your price table from LiteLLM's price file")
    source = update.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="FILE",
                        help="a LiteLLM price JSON (model_prices_and_context_window.json) "
                        "or a litellm wheel")  # fmt: skip
    source.add_argument("--fetch", action="store_true",
                        help="download the current file (network; see --url)")  # fmt: skip
    update.add_argument("--url", default=None, help="where --fetch downloads from")
    update.add_argument("--timeout", type=float, default=30.0, help="seconds for --fetch")
    update.add_argument("--out", help="where to write (default: $PODIUM_PRICES, else the "
                        "user config dir's podium/prices.json)")  # fmt: skip
    update.add_argument("--force", action="store_true",
                        help="replace a file that `podium prices update` did not write")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.errors import InvalidInput

    try:
        if args.action == "update":
            return _update(args)
        return _show(args)
    except InvalidInput as exc:
        print(f"podium prices: {exc}", file=sys.stderr)
        return 2


def _describe(table: PriceTable) -> dict:
    from podium.usage.pricing import PriceTable

    bundled = table.base or table
    raw = bundled.raw
    out = {
        "origin": table.origin,
        "version": table.version,
        "fingerprint": table.fingerprint,
        "bundled": {
            "version": bundled.version,
            "source": bundled.source,
            "models": len(raw.get("models") or {}),
            "aliases": len(raw.get("aliases") or {}),
            "supplemented": sorted(raw.get("supplemented") or {}),
        },
        "models": len(table.model_names),
        "user": None,
    }
    if table.base is not None:
        base = PriceTable(bundled.raw, "bundled")
        differ = sorted(n for n, p in table.own_prices.items()
                        if (b := base.price_for(n)) is None or (b.base, b.long_context) !=
                        (p.base, p.long_context))  # fmt: skip
        out["user"] = {"path": table.origin, "version": table.version, "source": table.source,
                       "models": len(table.user_models), "differFromBundled": differ}  # fmt: skip
    return out


def _rates_text(rates: Rates) -> str:
    return (f"in ${rates.input:g} / out ${rates.output:g} / cache write 5m ${rates.cache_write_5m:g}"
            f", 1h ${rates.cache_write_1h:g} / cache read ${rates.cache_read:g}")  # fmt: skip


def _show(args: argparse.Namespace) -> int:
    from podium.usage.pricing import PriceTable, user_prices_path

    table = PriceTable.load(args.prices)
    info = _describe(table)
    lookups = []
    for model in args.model:
        price = table.price_for(model)
        lookups.append({"model": model, "pricedAs": price.family if price else None,
                        "rates": _rates_dict(price.base) if price else None,
                        "longContext": ({"thresholdInputTokens": price.threshold,
                                         **_rates_dict(price.long_context)}
                                        if price and price.long_context else None)})  # fmt: skip
    if args.json:
        print(json.dumps({**info, "lookups": lookups} if lookups else info, indent=2))
        return 0 if all(x["pricedAs"] for x in lookups) else 1
    b = info["bundled"]
    src = b["source"]
    print(f"bundled      {src.get('from', '?')}, {src.get('date', b['version'])}: {b['models']} "
          f"models, {b['aliases']} aliases")  # fmt: skip
    if b["supplemented"]:
        print(f"supplement   numbers LiteLLM lacks for: {', '.join(b['supplemented'])}")
    user = info["user"]
    if user is None:
        print(f"user table   none (`podium prices update --from FILE` writes {user_prices_path()})")
    else:
        origin = user["source"].get("from") or "hand-written"
        differ = user["differFromBundled"]
        shown = ", ".join(differ[:8]) + (f" and {len(differ) - 8} more" if len(differ) > 8 else "")
        print(f"user table   {user['path']} ({origin}, {user['version']}): {user['models']} "
              f"models, {len(differ)} priced differently from the bundled table"
              + (f": {shown}" if differ else ""))  # fmt: skip
    print(f"in use       {info['models']} models ({info['fingerprint']})")
    missing = 0
    for x in lookups:
        price = table.price_for(x["model"])  # cached: the lookup above
        if price is None:
            missing += 1
            print(f"{x['model']}: no price (Podium uses Claude Code's own figure where it has one)")
            continue
        line = f"{x['model']} → {x['pricedAs']}: {_rates_text(price.base)} per MTok"
        if price.long_context:
            line += f"; above {price.threshold:,} input tokens {_rates_text(price.long_context)}"
        print(line)
    return 1 if missing else 0


def _rates_dict(rates: Rates) -> dict:
    return {"input": rates.input, "output": rates.output, "cacheWrite5m": rates.cache_write_5m,
            "cacheWrite1h": rates.cache_write_1h, "cacheRead": rates.cache_read}  # fmt: skip


def _update(args: argparse.Namespace) -> int:
    from podium.usage import price_gen
    from podium.usage.pricing import PriceTable, user_prices_path

    out = os.path.expanduser(args.out) if args.out else user_prices_path()
    try:
        if args.fetch:
            url = args.url or price_gen.LITELLM_URL
            data, info = price_gen.parse_source(_download(url, args.timeout), url)
        else:
            data, info = price_gen.read_source(args.source)
        table = price_gen.convert(data, info, supplement=price_gen.load_supplement())
        if all(origin == "supplement" for origin in table["origins"].values()):
            # (the supplement's own models alone would replace nothing the user asked for)
            raise price_gen.SourceError(f"{info['from']}: no model in it has a usable price "
                                        "(numbers per token); nothing written")  # fmt: skip
        PriceTable(table, out)  # it must load before it replaces anything
    except (price_gen.SourceError, OSError, ValueError) as exc:
        print(f"podium prices: {exc}", file=sys.stderr)
        return 2  # docs/cli.md: 2 for anything the user can act on
    if os.path.exists(out) and not args.force and not _written_by_update(out):
        print(f"podium prices: {out} was not written by `podium prices update` (a hand-made "
              "table?); pass --force to replace it, or --out elsewhere", file=sys.stderr)  # fmt: skip
        return 2  # docs/cli.md: 2 for anything the user can act on
    price_gen.write_table(table, out)
    print(f"wrote {out}: {len(table['models'])} models from {info['from']} "
          f"({table['source']['date']}); it overrides the bundled table by model name")  # fmt: skip
    if not args.out and not os.environ.get("PODIUM_PRICES"):
        print("the server picks it up when it next starts")
    return 0


def _written_by_update(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            raw = json.loads(fh.read())
    except (OSError, ValueError):
        return False
    return type(raw) is dict and "GENERATED" in str(raw.get("note", ""))


def _download(url: str, timeout: float) -> bytes:
    """The file at `url`; one clear OSError when it cannot be had (offline, HTTP error)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "podium-prices"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(FETCH_LIMIT + 1)
    except urllib.error.HTTPError as exc:
        raise OSError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OSError(f"cannot download {url}: {reason} (offline? use --from FILE)") from exc
    if len(body) > FETCH_LIMIT:
        raise OSError(f"cannot download {url}: more than {FETCH_LIMIT >> 20} MB")
    return body
