"""What the ledger and the seed's experiments produce: the report, the figures, the JSON output.
"""
