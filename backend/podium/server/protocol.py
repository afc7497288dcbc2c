"""The protocol models, re-exported for the server's existing imports (`proto.AgentCard`,
`proto.parse_params`). They live in the core-level `podium.protocol`, which the views use too."""

from podium.protocol import *  # noqa: F403
