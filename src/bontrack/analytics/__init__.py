"""Treatment-cycle analytics: one patient across cycles (``patient``), the clinic as a whole
(``clinic``: SQL aggregates over derived rows) and the projection that alone writes those
derived rows (``projection``). Charts of the figures are drawn in ``charts``."""

from bontrack.analytics.clinic import (
    FILTER_FIELDS,
    Filters,
    clinic_analytics,
    clinicians,
    read_filters,
)
from bontrack.analytics.patient import CLINIC_ROLES, next_dates, patient_analytics
from bontrack.analytics.projection import build_state, refresh

__all__ = ["CLINIC_ROLES", "FILTER_FIELDS", "Filters", "build_state", "clinic_analytics",
           "clinicians", "next_dates", "patient_analytics", "read_filters", "refresh"]
