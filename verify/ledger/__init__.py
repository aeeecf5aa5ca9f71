"""The claims ledger's engine: the registry of claims, the search and its runner, the recipes and
parameters of instances, the 50-digit re-check and precision, parallel runs, claims of your own.
"""
