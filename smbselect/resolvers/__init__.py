"""The workflow rules, one module per domain. Never imports strawberry.

Each public coroutine takes a ``Context`` first, checks who may call it, runs in one
transaction, and raises ``DomainError`` (a rule says no) or ``AccessError`` (who is asking).
"""
