"""Small text formatters shared by the status bar, the tooltip and the demo client."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from podium.protocol.models import Usage


def format_duration(seconds: float) -> str:
    """45s, 12m, 2h 5m, 3d 4h — the time an agent has been in its state."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def format_duration_coarse(seconds: float) -> str:
    """Like format_duration but minute-grained (`<1m`), so text built from it changes rarely."""
    return "<1m" if seconds < 60 else format_duration(seconds)


def format_tokens(count: float) -> str:
    """950, 45K, 1.2M."""
    count = int(count)
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        value = count / 1000
        return f"{value:.0f}K" if value >= 10 else f"{value:.1f}K".replace(".0K", "K")
    value = count / 1_000_000
    return f"{value:.0f}M" if value >= 10 else f"{value:.1f}M".replace(".0M", "M")


def format_usd(amount: float) -> str:
    """$2.47; tiny non-zero amounts keep a cent of precision rather than showing $0.00."""
    if 0 < amount < 0.005:
        return "<$0.01"
    return f"${amount:,.2f}"


def format_pct(pct: float) -> str:
    """67% (rounded, never negative)."""
    return f"{max(0.0, pct):.0f}%"


SOURCE_LABEL = {"subscription": "Sub", "api": "API", "proxy": "Proxy"}


def format_agent_usage(source: str, usage: Usage) -> str:
    """Seed 004's per-agent usage line: `23 msgs (Sub)`, `45K tok $0.32 (API)`."""
    label = SOURCE_LABEL.get(source, source)
    if source == "subscription":
        return f"{usage.messages} msgs ({label})"
    tokens = (usage.input_tokens + usage.output_tokens + usage.cache_creation_tokens
              + usage.cache_read_tokens)  # fmt: skip
    return f"{format_tokens(tokens)} tok {format_usd(usage.cost_usd)} ({label})"
