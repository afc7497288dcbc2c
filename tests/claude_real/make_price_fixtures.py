"""Record the tests/fixtures/claude_real/prices-* transcripts: the real Claude Code CLI pricing
models and price paths the two main fixtures do not reach.

    .venv/bin/python -m tests.claude_real.make_price_fixtures [OUT_DIR]

Same harness and scrubbing as `make_fixtures` (stand-in API on 127.0.0.1, temp HOME and
CLAUDE_CONFIG_DIR, prompt text removed from `attachment` / `api-request*` lines), one
`claude -p --model M` session per folder with two turns:
- `prices-haiku-5-5-long`: Haiku 5.5 with a request past its 100k long-context line, 1 h writes;
- `prices-opus-5-5-long`: Opus 5.5 past 200k input (no long-context tier: base prices);
- `prices-fable-5-2`: a model Claude Code prices that LiteLLM does not list (Podium's
  supplement);
- `prices-unknown-model`: a model id no price table knows (`claude-opus-9-9`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .make_fixtures import DEFAULT_OUT, install_claude, record
from .standin import Usage

PRICE_SCENARIOS: dict[str, dict[str, Any]] = {
    "prices-haiku-5-5-long": {
        "auth": "api_key",
        "model": "claude-haiku-5-5",
        "id_prefix": "haiku55long",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000101",
        "turns": [
            ("Summarise the repository.", [
                ("text", "A small repository.",
                 Usage(input_tokens=92_000, output_tokens=640, cache_read=24_000,
                       cache_5m=3_000, cache_1h=2_500)),
            ]),
            ("Shorter, please.", [
                ("text", "Small repo.",
                 Usage(input_tokens=1_200, output_tokens=40, cache_read=60_000, cache_1h=800)),
            ]),
        ],
    },
    "prices-opus-5-5-long": {
        "auth": "api_key",
        "model": "claude-opus-5-5",
        "id_prefix": "opus55long",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000102",
        "turns": [
            ("Read everything.", [
                ("text", "Done reading.",
                 Usage(input_tokens=180_000, output_tokens=900, cache_read=70_000,
                       cache_5m=9_000, cache_1h=4_000)),
            ]),
            ("Thanks.", [
                ("text", "Welcome.",
                 Usage(input_tokens=300, output_tokens=20, cache_read=263_000)),
            ]),
        ],
    },
    "prices-fable-5-2": {
        "auth": "api_key",
        "model": "claude-fable-5-2",
        "id_prefix": "fable52",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000103",
        "turns": [
            ("Plan the change.", [
                ("text", "Here is a plan.",
                 Usage(input_tokens=4_100, output_tokens=380, cache_read=12_000,
                       cache_5m=2_200, cache_1h=1_100)),
            ]),
            ("Go ahead.", [
                ("text", "Done.",
                 Usage(input_tokens=700, output_tokens=55, cache_read=19_400, cache_5m=150)),
            ]),
        ],
    },
    "prices-unknown-model": {
        "auth": "api_key",
        "model": "claude-opus-9-9",
        "id_prefix": "unknownmodel",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000104",
        "turns": [
            ("Hello.", [
                ("text", "Hello.",
                 Usage(input_tokens=1_000, output_tokens=30, cache_read=5_000, cache_5m=500)),
            ]),
            ("Bye.", [
                ("text", "Bye.", Usage(input_tokens=200, output_tokens=10, cache_read=6_000)),
            ]),
        ],
    },
}  # fmt: skip


def main(argv: list[str]) -> None:
    out = Path(argv[0]).resolve() if argv else DEFAULT_OUT
    claude = install_claude()
    for name, scenario in PRICE_SCENARIOS.items():
        record(name, scenario, claude, out, extra_args=["--model", scenario["model"]])
        print(f"recorded {out / name}")


if __name__ == "__main__":
    main(sys.argv[1:])
