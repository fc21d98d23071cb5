"""PDF documents: the patient visit report, the clinician cycle summary, the clinic report."""
