"""Layers: each module registers its transforms with cobol.registry on import."""
