"""What the command line shows a person: tables, colour, the live monitor, the config file.

Nothing here imports `rich` at module level: the JSON and piped paths of `podium report` must
start without it (`python -X importtime -m podium report daily --json` shows no `rich`).
"""
