from tests.limits.helpers import feed  # noqa: F401  (fixture)
