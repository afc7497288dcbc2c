"""Secret scrubbing for every free-text field Podium stores or shows.

`scrub(text)` replaces, in this order (most specific first, so a GitHub token inside a bearer
header is still named as a GitHub token):

- PEM private key blocks                               → ``[REDACTED:private-key]``
- Anthropic keys ``sk-ant-…``                          → ``[REDACTED:anthropic-key]``
- OpenAI keys ``sk-…``, ``sk-proj-…``, ``sk-svcacct-…`` → ``[REDACTED:openai-key]``
- AWS access key ids ``AKIA…``/``ASIA…``               → ``[REDACTED:aws-key]``
- secret assignments (``aws_secret_access_key=…``, ``password: …``, ``api_key=…``,
  ``client_secret=…``, ``.env`` style ``DB_PASSWORD=…``, ``GITHUB_TOKEN=…``): the value only,
  a quoted value whole                                 → ``[REDACTED]``
- GitHub tokens ``ghp_/gho_/ghs_/ghu_/ghr_…``, ``github_pat_…`` → ``[REDACTED:github-token]``
- Slack tokens ``xox[abprs]-…``                        → ``[REDACTED:slack-token]``
- other providers' tokens: Google ``AIza…``, Hugging Face ``hf_…``, GitLab ``glpat-…``,
  npm ``npm_…``, Stripe secret/restricted ``sk_live_…``/``rk_test_…`` → ``[REDACTED:token]``
- JSON web tokens ``eyJ….eyJ….…``                      → ``[REDACTED:jwt]``
- bearer / basic / token credentials: ``Bearer <token>``, ``Authorization: Token <token>``
                                                       → ``Bearer [REDACTED]``
- URL credentials ``scheme://user:pass@host`` (also ``redis://:pass@host``)
                                                       → ``scheme://[REDACTED]@host``
- email addresses                                      → ``[email]``
- private and loopback IPv4 (10/8, 172.16/12, 192.168/16, 127/8) → ``[private-ip]``
- home paths with a user name: ``/home/<user>/…``, ``/Users/<user>/…``,
  ``C:\\Users\\<user>\\…`` (also JSON-escaped ``\\\\``)   → ``~/…`` (``~\\…`` on Windows paths)
- optionally (``dollar_amounts=True``) dollar amounts  → ``$[amount]``. Off by default: Podium's
  own alert texts must keep their figures; turn it on for text written by agents or users.

The function is pure, idempotent (``scrub(scrub(t)) == scrub(t)``) and never raises on str input.

``scrub_secrets(text)`` removes the secrets only (keys, tokens, credentials: the first twelve
rules) and keeps paths, emails and addresses as they are: for values Podium matches on, such as
an entry's ``cwd`` (attribution to an agent's worktree compares paths) and model names. It is
cached: such values repeat on every line.

``clip(text, limit)`` scrubs, then cuts: a cut first would leave the part of a key before the cut
unrecognisable, and kept.
"""

from __future__ import annotations

import functools
import re

# Every quantifier that may scan far and then fail is bounded or anchored after a non-token
# character, so adversarial runs ("sk-sk-sk-…", "a.b.c.…") cost linear, not quadratic, time.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
_ANTHROPIC = re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}")
# a digit is required so that words like `sk-learn-compatible` survive
_OPENAI = re.compile(
    r"\bsk-(?:proj-|svcacct-|admin-|None-)?(?=[A-Za-z_\-]{0,64}\d)[A-Za-z0-9_\-]{16,}"
)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")
# `name = value` / `name: "value"` for names that hold secrets; only the value is replaced.
# The name may carry `.env`-style prefixes (`DB_PASSWORD`, `OPENAI_API_KEY`, `GITHUB_TOKEN`:
# `\b` does not split `DB_` from `PASSWORD`); a quoted value goes up to its closing quote, so
# a passphrase with spaces goes whole.
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)((?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,40}[_-]){0,6}"
    r"(?:aws_secret_access_key|aws_session_token|secret_access_key|client_secret"
    r"|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|secret[_-]?key|password|passwd|pwd"
    r"|(?<=[_-])(?:token|secret))"  # bare `token:` is prose too often; `GITHUB_TOKEN=` is not
    r"[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\[REDACTED)"
    r"((?<=\")[^\"\n]{1,256}(?=\")|(?<=')[^'\n]{1,256}(?=')|[^\s\"',;&]{4,})"
)
_GITHUB = re.compile(r"\b(?:(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})")
_SLACK = re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}")
_PROVIDER_TOKEN = re.compile(
    r"\b(?:AIza[0-9A-Za-z_\-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_\-]{20,}"
    r"|npm_[A-Za-z0-9]{36}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{8,512}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic|(?<=authorization: )token)(\s+)(?!\[REDACTED)[A-Za-z0-9\-._~+/]{8,}=*")
_URL_CREDENTIALS = re.compile(r"(?<![A-Za-z0-9+.\-])([a-z][a-z0-9+.\-]{0,31}://)[^\s/@:]*:[^\s/@]+@")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?!git@)[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,}\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PRIVATE_IP = re.compile(
    r"(?<![\d.])(?:"
    rf"10\.{_OCTET}\.{_OCTET}\.{_OCTET}"
    rf"|172\.(?:1[6-9]|2\d|3[01])\.{_OCTET}\.{_OCTET}"
    rf"|192\.168\.{_OCTET}\.{_OCTET}"
    rf"|127\.{_OCTET}\.{_OCTET}\.{_OCTET}"
    r")(?!\.?\d)"
)
_POSIX_HOME = re.compile(r"(?<![\w.~])/(?:home|Users)/(?!Shared\b)[^/\s\"'`:;,]+(?=/|\b|$)")
_WINDOWS_HOME = re.compile(
    r"(?i)\b[a-z]:(\\\\|\\|/)Users(?:\\\\|\\|/)(?!Public\b|Default\b)[^\\/\s\"'`:;,]+"
)
_DOLLARS = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?")


def _windows_home(match: re.Match[str]) -> str:
    return "~"  # the separator that follows is kept, so `C:\Users\bob\x` → `~\x`


def _secrets(text: str) -> str:
    text = _PRIVATE_KEY.sub("[REDACTED:private-key]", text)
    text = _ANTHROPIC.sub("[REDACTED:anthropic-key]", text)
    text = _OPENAI.sub("[REDACTED:openai-key]", text)
    text = _AWS_KEY_ID.sub("[REDACTED:aws-key]", text)
    text = _SECRET_ASSIGNMENT.sub(r"\1[REDACTED]", text)
    text = _GITHUB.sub("[REDACTED:github-token]", text)
    text = _SLACK.sub("[REDACTED:slack-token]", text)
    text = _PROVIDER_TOKEN.sub("[REDACTED:token]", text)
    text = _JWT.sub("[REDACTED:jwt]", text)
    text = _BEARER.sub(r"\1\2[REDACTED]", text)
    return _URL_CREDENTIALS.sub(r"\1[REDACTED]@", text)


def scrub(text: str, *, dollar_amounts: bool = False) -> str:
    """Return `text` with secrets, emails, private IPs and user names in home paths removed."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text:
        return text
    text = _secrets(text)
    text = _EMAIL.sub("[email]", text)
    text = _PRIVATE_IP.sub("[private-ip]", text)
    text = _WINDOWS_HOME.sub(_windows_home, text)
    text = _POSIX_HOME.sub("~", text)
    if dollar_amounts:
        text = _DOLLARS.sub("$[amount]", text)
    return text


@functools.lru_cache(maxsize=4096)
def _cached_secrets(text: str) -> str:
    return _secrets(text)


def scrub_secrets(text: str | None) -> str | None:
    """`text` without keys, tokens and credentials; paths, emails and addresses stay (see the
    module doc). None stays None."""
    if not text or not isinstance(text, str):
        return text
    if len(text) > 4096:  # (not worth a cache slot)
        return _secrets(text)
    return _cached_secrets(text)


def clip(text: str, limit: int, *, marker: str = "…") -> str:
    """Scrub, then cut to at most `limit` characters (the marker included)."""
    text = scrub(text)
    return text if len(text) <= limit else text[: max(limit - len(marker), 0)] + marker
