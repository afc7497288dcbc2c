from podium.cli import entry

entry()
