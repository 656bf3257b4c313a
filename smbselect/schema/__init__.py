"""GraphQL shapes: strawberry types, inputs, payloads, enums and the roots.

Thin: field functions turn arguments into resolver calls and domain errors into
``userErrors``. No SQL and no business rule lives here.
"""
