"""Token → USD. The table is data (`podium/data/prices.json`, generated from the LiteLLM price
file by `podium.usage.price_gen`), versioned and overridable by a user file.

Model ids: Claude Code writes `claude-opus-5-5`, dated ids (`claude-opus-4-5-20251101`), Bedrock
ids (`us.anthropic.claude-opus-5-5`, `anthropic.claude-opus-4-1-20250805-v1:0`) and Vertex ids
(`claude-opus-5-5@20261001`); all of them find the same price (`canonical_model`). A model the
table does not know has no price: Podium never guesses (see `unknown_models`).

Long context: a model may have a premium tier above an input threshold (200k for most, 100k for
Haiku 5.5, 272k for some OpenAI models). Anthropic bills a *whole request* at the premium rate
when its total input (input + cache write + cache read) exceeds the threshold; Podium does the
same. ccusage instead prices only the tokens above 200k of each type at the premium rate, so for
such requests Podium's cost is higher than ccusage's (see docs/pricing.md).

Cache writes: when a line splits `cache_creation` into 5 m and 1 h parts, each part is priced at
its own rate; otherwise all cache writes are priced as 5 m writes.
"""

from __future__ import annotations

import json
import os
import re

from podium.store.migrations import LONG_CONTEXT_LEVELS

ENV_PRICES = "PODIUM_PRICES"
COST_MODES = ("auto", "calculate", "display")
PER_MILLION = 1_000_000.0
DEFAULT_THRESHOLD = 200_000


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
    def from_json(cls, raw: dict, base: Rates | None = None) -> Rates:
        """`base`: the rates a long-context tier inherits where it names none."""
        def rate(key: str, default: float) -> float:
            value = raw.get(key)
            if value is None:
                return default
            value = float(value)
            if not value >= 0:  # negatives and NaN
                raise ValueError(f"{key} must be a price ≥ 0, not {raw.get(key)!r}")
            return value

        write5 = rate("cacheWrite5m", rate("cacheWrite", base.cache_write_5m if base else 0.0))
        return cls(
            input=rate("input", base.input if base else float("nan")),
            output=rate("output", base.output if base else float("nan")),
            cache_write_5m=write5,
            cache_write_1h=rate("cacheWrite1h", base.cache_write_1h if base else write5),
            cache_read=rate("cacheRead", base.cache_read if base else 0.0),
        )


class ModelPrice(_Record):
    """A model's rates. `family` is the table's name for it (`claude-opus-5-5`)."""

    _fields = ("family", "base", "long_context", "threshold")
    __slots__ = _fields
    family: str
    base: Rates
    long_context: Rates | None
    threshold: int  # input tokens above which `long_context` applies


_PREFIX = re.compile(r"^(?:[a-z0-9-]+\.)?anthropic\.")  # Bedrock: `us.anthropic.`, `anthropic.`
_SUFFIX = re.compile(r"(?:-v\d+(?::\d+)?|@[\w.-]*|\[[\w.-]*\])$")  # `-v1:0`, `@20261001`, `[1m]`
_DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


def canonical_model(model: str) -> str:
    """The id a table lists a model under: provider prefixes (`anthropic/`, `bedrock/…/`),
    Bedrock region and vendor prefixes, and Bedrock/Vertex/Claude Code suffixes removed."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = _PREFIX.sub("", name)
    previous = None
    while previous != name:  # `…-20250929-v1:0`, `…@20250929`, `…[1m]`
        previous = name
        name = _SUFFIX.sub("", name)
    return name


def _name_forms(model: str) -> list[str]:
    """Lookup candidates, most specific first."""
    forms = [model]
    name = canonical_model(model)
    forms.append(name)
    undated = _DATED.sub("", name)
    forms.append(undated)
    return list(dict.fromkeys(forms))


class _Layer:
    """One price file: exact models with aliases (format 2), or regex families (format 1)."""

    def __init__(self, raw: dict, origin: str) -> None:
        if type(raw) is not dict:
            raise ValueError("a price table is a JSON object")
        self.raw = raw
        self.origin = origin
        self.version = str(raw.get("version", "unknown"))
        lc = raw.get("longContext") or {}
        self.default_threshold = int(lc.get("thresholdInputTokens", DEFAULT_THRESHOLD))
        self.models: dict[str, ModelPrice] = {}
        for name, entry in (raw.get("models") or {}).items():
            self.models[name] = self._price(name, entry)
        self.aliases: dict[str, str] = {
            str(a): str(t) for a, t in (raw.get("aliases") or {}).items() if t in self.models
        }
        self.families: list[tuple[re.Pattern[str], ModelPrice]] = []
        for fam in raw.get("families") or []:
            price = self._price(str(fam.get("name", fam["pattern"])), fam)
            self.families.append((re.compile(fam["pattern"]), price))

    def _price(self, name: str, entry: dict) -> ModelPrice:
        base = Rates.from_json(entry)
        if base.input != base.input or base.output != base.output:  # NaN: missing
            raise ValueError(f"{name}: input and output prices are required")
        long = entry.get("longContext")
        threshold = int(long.get("thresholdInputTokens", self.default_threshold)) if long else (
            self.default_threshold)  # fmt: skip
        return ModelPrice(family=name, base=base,
                          long_context=Rates.from_json(long, base) if long else None,
                          threshold=threshold)  # fmt: skip

    def find(self, forms: list[str]) -> ModelPrice | None:
        for form in forms:
            price = self.models.get(form) or self.models.get(self.aliases.get(form, ""))
            if price is not None:
                return price
        for form in (*forms, forms[-1].replace("@", "-")):
            for pattern, price in self.families:
                if pattern.match(form):
                    return price
        return None


class PriceTable:
    """Model prices plus the set of models it could not price (reported as a warning).

    A user table (`--prices`, `$PODIUM_PRICES`, or the file `podium prices update` writes)
    sits over the bundled one: its models win by name, the bundled table prices the rest."""

    def __init__(self, raw: dict, origin: str, base: PriceTable | None = None) -> None:
        self._layer = _Layer(raw, origin)
        self.base = base
        self._layers: list[_Layer] = [self._layer, *(base._layers if base else [])]
        self.version: str = self._layer.version
        self.origin = origin
        self.long_context_threshold = self._layer.default_threshold
        self.source: dict = dict(raw.get("source") or {})
        self._cache: dict[str, ModelPrice | None] = {}
        self.unknown_models: set[str] = set()
        self._raw = raw
        self._fingerprint: str | None = None
        #: why the user's table could not be used (`queries.default_prices` fell back)
        self.load_error: str | None = None
        thresholds = {p.threshold for layer in self._layers for p in layer.models.values()
                      if p.long_context is not None}  # fmt: skip
        thresholds |= {p.threshold for layer in self._layers for _, p in layer.families
                       if p.long_context is not None}  # fmt: skip
        #: the input sizes where some model's price changes, with the store's bucket levels:
        #: `long_level_sql` counts how many of them a request's input exceeds
        self.breakpoints: tuple[int, ...] = tuple(sorted(thresholds | set(LONG_CONTEXT_LEVELS)))

    @property
    def fingerprint(self) -> str:
        """Identifies the prices that produced a number (shown with exports and reports)."""
        if self._fingerprint is None:
            import hashlib

            import orjson

            raws = [layer.raw for layer in self._layers]
            digest = hashlib.sha1(orjson.dumps(raws)).hexdigest()[:8]
            self._fingerprint = f"{self.version}:{digest}"
        return self._fingerprint

    @property
    def model_names(self) -> list[str]:
        """Every model the table prices by name (user models first, then bundled ones)."""
        return list(dict.fromkeys(n for layer in self._layers for n in layer.models))

    @property
    def raw(self) -> dict:
        """This table's own file (without the table under it)."""
        return self._layer.raw

    @property
    def own_prices(self) -> dict[str, ModelPrice]:
        """The models this table's own file prices by name."""
        return dict(self._layer.models)

    @property
    def user_models(self) -> list[str]:
        """Models the user table prices (empty without one)."""
        if self.base is None:
            return []
        return [*self._layer.models, *(p.family for _, p in self._layer.families)]

    @classmethod
    def load(cls, override_path: str | os.PathLike[str] | None = None) -> PriceTable:
        """The bundled table, under a user file when there is one: explicit, else
        `$PODIUM_PRICES`, else the user file `podium prices update` writes, if it exists."""
        bundled = cls.load_bundled()
        path = override_path or os.environ.get(ENV_PRICES)
        explicit = bool(path)
        if not path:
            path = user_prices_path()
            if not os.path.exists(path):
                return bundled
        p = os.path.expanduser(os.fspath(path))
        try:
            with open(p, "rb") as fh:
                raw = json.loads(fh.read())
            return cls(raw, p, base=bundled)
        except (OSError, ValueError, KeyError, TypeError, re.error) as exc:
            from podium.errors import InvalidInput

            hint = "" if explicit else " (the user table `podium prices update` writes)"
            raise InvalidInput(f"cannot read price table {p}{hint}: {exc}", field="prices") from exc

    @classmethod
    def load_bundled(cls) -> PriceTable:
        with open(BUNDLED_PATH, "rb") as fh:
            return cls(json.loads(fh.read()), "bundled")

    def price_for(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        if model in self._cache:
            return self._cache[model]
        forms = _name_forms(model)
        found = next((p for layer in self._layers if (p := layer.find(forms)) is not None), None)
        self._cache[model] = found
        if found is None:
            self.unknown_models.add(model)
        return found

    def threshold_for(self, model: str | None) -> int:
        price = self.price_for(model)
        return price.threshold if price is not None else self.long_context_threshold

    def rates_for(self, model: str | None, long_context: bool) -> Rates | None:
        price = self.price_for(model)
        if price is None:
            return None
        if long_context and price.long_context is not None:
            return price.long_context
        return price.base

    def is_long(self, model: str | None, level: int) -> bool:
        """Whether requests whose input exceeds `level` of `breakpoints` are past the model's
        long-context threshold (`level` as `long_level_sql` computes it)."""
        price = self.price_for(model)
        if price is None or price.long_context is None:
            return False
        return int(level) > self.breakpoints.index(price.threshold)

    def long_level_sql(self, input_side: str = "input + cache_create + cache_read") -> str:
        """SQL: how many of `breakpoints` a request's total input exceeds (0 = none)."""
        return "(" + " + ".join(f"({input_side} > {b})" for b in self.breakpoints) + ")"

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
        """USD for one request (or for a sum of requests on the same side of the model's
        long-context line: pass `long_context` explicitly then). Unknown model → 0."""
        price = self.price_for(model)
        if price is None:
            return 0.0
        if long_context is None:
            long_context = input + cache_create + cache_read > price.threshold
        rates = price.long_context if long_context and price.long_context else price.base
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


BUNDLED_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "prices.json")


def user_prices_path() -> str:
    """Where `podium prices update` writes the user's table (`$PODIUM_PRICES` when set)."""
    env = os.environ.get(ENV_PRICES)
    if env:
        return os.path.expanduser(env)
    from podium.userdirs import config_dir

    return os.path.join(config_dir(), "prices.json")
