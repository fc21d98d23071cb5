"""Cited reference data (products, indications, muscles, dose rules) and its loader."""

from bontrack.reference.catalogue import Reference
from bontrack.reference.loader import default_reference, load_reference

__all__ = ["Reference", "default_reference", "load_reference"]
