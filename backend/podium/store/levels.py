"""The time and long-context steps the store's sums are kept in (usage_buckets, history_buckets);
re-exported by podium.store.migrations."""

#: 15 minutes: every UTC offset in use is a multiple, so local days and hours are unions of buckets
BUCKET_MS = 900_000
#: the long-context line the v5 buckets split on (Anthropic's classic one)
LONG_CONTEXT_TOKENS = 200_000
#: since v7 a bucket's `long` is how many of these input sizes its requests exceed, so every
#: model whose premium tier starts at one of them (Haiku 5.5: 100k, most Claude and Gemini
#: models: 200k, OpenAI's: 272k) is priced exactly from the buckets; a price table with another
#: line makes reports read the entries instead
LONG_CONTEXT_LEVELS = (100_000, 200_000, 272_000)


def long_level(row: str = "") -> str:
    """SQL: how many of LONG_CONTEXT_LEVELS the input side of `row` exceeds."""
    p = f"{row}." if row else ""
    side = f"{p}input + {p}cache_create + {p}cache_read"
    return "(" + " + ".join(f"({side} > {n})" for n in LONG_CONTEXT_LEVELS) + ")"
