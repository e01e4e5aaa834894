"""KPIs and ROI: daily rollups of the ledger and of tasks, time series, and drill-down rows."""
