"""The retail domain: the tau2 retail store's data model, loader and tools."""
