"""Dataset filters, one datatrove `BaseFilter` per rule; each drop carries its reason."""
