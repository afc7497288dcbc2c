from tests.cli.helpers import cli  # noqa: F401  (fixture)
