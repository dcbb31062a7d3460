"""World space (issue 5): human-to-world transform, causal trajectory head, display smoothing."""
