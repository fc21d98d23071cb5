"""One module per FHIR resource type bontrack exports, serves and imports; each builds one
``Kind`` (see ``fhir/kind.py``), listed in order in ``fhir/registry.py``."""
