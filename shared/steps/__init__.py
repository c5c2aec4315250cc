"""Pipeline step executors: each wires a pure step to storage; activities call exactly one."""
