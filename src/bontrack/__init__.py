"""bontrack: botulinum toxin therapy — cited reference data, plan checks, records, outcomes."""

__version__ = "0.1.0"
