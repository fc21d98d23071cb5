"""CDS Hooks 2.0: the dose check at the moment an EHR user selects or signs a botulinum toxin
order (docs/cds-hooks.md).

Pure functions, no database and no framework: ``orders`` reads the draft MedicationRequests
of a hook call into one draft plan per product; ``cards`` turns the plan check's findings
(and what could not be read or checked) into CDS Hooks cards; ``discovery`` describes the
services. ``bontrack.services.cds`` runs them with the patient's history from the store.
"""
