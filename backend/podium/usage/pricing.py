"""Token → USD. The table is data (`podium/data/prices.json`), versioned and overridable.

Long context: Anthropic bills a *whole request* at the premium rate when its total input
(input + cache write + cache read) exceeds 200k tokens; Podium does the same. ccusage instead
prices only the tokens above 200k of each type at the premium rate, so for such requests
Podium's cost is higher than ccusage's (see docs/pricing.md).

Cache writes: when a line splits `cache_creation` into 5 m and 1 h parts, each part is priced at
its own rate (1 h writes cost 2× input); otherwise all cache writes are priced as 5 m writes.
"""

from __future__ import annotations

import json
import os
import re

ENV_PRICES = "PODIUM_PRICES"
COST_MODES = ("auto", "calculate", "display")
PER_MILLION = 1_000_000.0


class _Record:
    """A small immutable-by-convention record (not a NamedTuple: importing `typing` costs
    ~4 ms of every CLI start-up)."""

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()  # positional order

    def __init__(self, *args: object, **kwargs: object) -> None:
        for name, value in zip(self._fields, args, strict=False):
            setattr(self, name, value)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self._fields
        )

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self._fields))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({fields})"


class Rates(_Record):
    """USD per million tokens."""

    _fields = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
    __slots__ = _fields
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def from_json(cls, raw: dict) -> Rates:
        write5 = float(raw.get("cacheWrite5m", raw.get("cacheWrite", 0.0)))
        return cls(
            input=float(raw["input"]),
            output=float(raw["output"]),
            cache_write_5m=write5,
            cache_write_1h=float(raw.get("cacheWrite1h", write5)),
            cache_read=float(raw.get("cacheRead", 0.0)),
        )


class ModelPrice(_Record):
    _fields = ("family", "base", "long_context")
    __slots__ = _fields
    family: str
    base: Rates
    long_context: Rates | None


class PriceTable:
    """Model prices plus the set of models it could not price (reported as a warning)."""

    def __init__(self, raw: dict, origin: str) -> None:
        self.version: str = str(raw.get("version", "unknown"))
        self.origin = origin
        lc = raw.get("longContext") or {}
        self.long_context_threshold = int(lc.get("thresholdInputTokens", 200_000))
        self._families: list[tuple[re.Pattern[str], ModelPrice]] = []
        for fam in raw.get("families", []):
            long = fam.get("longContext")
            price = ModelPrice(
                family=str(fam.get("name", fam["pattern"])),
                base=Rates.from_json(fam),
                long_context=Rates.from_json(long) if long else None,
            )
            self._families.append((re.compile(fam["pattern"]), price))
        self._cache: dict[str, ModelPrice | None] = {}
        self.unknown_models: set[str] = set()
        self._raw = raw
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """Identifies the prices that produced a number (shown with exports and reports)."""
        if self._fingerprint is None:
            import hashlib

            import orjson

            digest = hashlib.sha1(orjson.dumps(self._raw)).hexdigest()[:8]
            self._fingerprint = f"{self.version}:{digest}"
        return self._fingerprint

    @classmethod
    def load(cls, override_path: str | os.PathLike[str] | None = None) -> PriceTable:
        """The bundled table, or a user file (explicit, else `$PODIUM_PRICES`)."""
        path = override_path or os.environ.get(ENV_PRICES)
        if path:
            p = os.path.expanduser(os.fspath(path))
            try:
                with open(p, "rb") as fh:
                    raw = json.loads(fh.read())
            except (OSError, ValueError) as exc:
                from podium.errors import InvalidInput

                raise InvalidInput(f"cannot read price table {p}: {exc}", field="prices") from exc
            return cls(raw, p)
        bundled = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "prices.json")
        with open(bundled, "rb") as fh:
            return cls(json.loads(fh.read()), "bundled")

    def price_for(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        if model in self._cache:
            return self._cache[model]
        name = model.rsplit("/", 1)[-1]  # "anthropic/claude-…" and similar prefixes
        name = re.sub(r"^(?:[a-z]{2}\.)?anthropic\.", "", name)  # Bedrock ids
        name = re.sub(r"-v\d+:\d+$", "", name).replace("@", "-")  # Bedrock/Vertex suffixes
        found = next((price for pattern, price in self._families if pattern.match(name)), None)
        self._cache[model] = found
        if found is None:
            self.unknown_models.add(model)
        return found

    def rates_for(self, model: str | None, long_context: bool) -> Rates | None:
        price = self.price_for(model)
        if price is None:
            return None
        if long_context and price.long_context is not None:
            return price.long_context
        return price.base

    def cost_of(
        self,
        model: str | None,
        input: int,
        output: int,
        cache_create: int,
        cache_read: int,
        cache_5m: int | None = None,
        cache_1h: int | None = None,
        *,
        long_context: bool | None = None,
    ) -> float:
        """USD for one request (or for a sum of requests on the same side of the long-context
        line: pass `long_context` explicitly then). Unknown model → 0."""
        if long_context is None:
            long_context = input + cache_create + cache_read > self.long_context_threshold
        rates = self.rates_for(model, long_context)
        if rates is None:
            return 0.0
        one_hour = cache_1h or 0
        five_min = cache_create - one_hour if cache_5m is None or cache_1h is None else cache_5m
        # a split that does not add up (hand-edited logs) must not lose tokens: the rest is 5 m
        five_min = max(five_min, cache_create - one_hour)
        return (
            input * rates.input
            + output * rates.output
            + five_min * rates.cache_write_5m
            + one_hour * rates.cache_write_1h
            + cache_read * rates.cache_read
        ) / PER_MILLION
