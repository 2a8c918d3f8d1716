"""Load: read renderkit.yaml, validate it against the schema, check its meaning and resolve every scene."""
