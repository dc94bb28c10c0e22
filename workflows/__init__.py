"""Named operations: each decides one transition, writes its rows, and commits once.

Public views, the back-office, the CLI and the worker all call these; none writes domain
rows itself.
"""
