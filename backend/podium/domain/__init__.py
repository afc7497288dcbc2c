"""Rules written once, as pure functions: no I/O, no store, light imports (`podium statusline`
loads some of them on every refresh of Claude Code's status line).

- `attribution`: which usage is an agent's.
- `periods`: local days and months as epoch-ms bounds.
- `plan_estimate`: the plan window % estimated from usage against the plan table.
"""
