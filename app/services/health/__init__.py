"""Process health over the KPI view: drift of conversion and velocity per milestone."""
