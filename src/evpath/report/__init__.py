"""Charts, the self-contained HTML report and the exports (IAMC, Excel, CSV) of stored runs."""
