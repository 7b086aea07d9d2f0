"""Bundled makers' scopes (YAML): the cars a group of carmakers sells in every market."""
