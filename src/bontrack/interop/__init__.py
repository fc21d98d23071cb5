"""Flat exports for spreadsheets and statistics (FHIR lives in bontrack.fhir)."""
