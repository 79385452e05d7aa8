"""Development tools, never shipped to Lambda: the local stack (`local`) and the `claude-tasks` CLI (`cli`).

The two never import each other; what both need about a running local stack is in `stack_file`.
"""
