"""The rule language: immutable rules from YAML, and the engine that keeps their state."""
