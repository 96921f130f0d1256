"""Inventory importers: files (our CSV, RVTools, YAML/JSON) and live vCenters, turned into domain Assets."""
