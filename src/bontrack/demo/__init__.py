"""The demo clinic: synthetic patients, cycles and outcomes drawn from the reference data."""
